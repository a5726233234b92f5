"""When the upscale step runs (app/jobs/upscale.py), and --upscale on the command line (torch-free)."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import InputError
from app.jobs import upscale as up
from app.jobs.render import RenderRequest

ROOT = Path(__file__).resolve().parents[2]


def test_auto_runs_above_one_and_a_half_times_the_stage_picture():
    stage = (1248, 832)  # what a 1024 tier paints for a 3:2 export
    assert up.wanted("auto", (3508, 2480), stage)  # A4 landscape at 300 dpi: 2.8x
    assert not up.wanted("auto", (1800, 1200), stage)  # 1.44x: plain enlargement
    assert up.wanted("on", (1800, 1200), stage)
    assert not up.wanted("on", (1248, 832), stage)  # nothing to enlarge
    assert not up.wanted("off", (7016, 9933), stage)


def test_a_bad_mode_is_one_plain_error(tmp_path):
    with pytest.raises(InputError, match="upscale mode 'sometimes'"):
        RenderRequest(inputs=[Path("x.geojson")], upscale="sometimes").validate()
    proc = subprocess.run([sys.executable, "-m", "app", "render", "--example", "--upscale", "sometimes", "-o",
                           str(tmp_path / "x.png")], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 2 and "--upscale" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()
