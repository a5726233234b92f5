"""`render --repaint-from --repaint-mask` (issue 16): the README's lines as written, on the tiny packs; bad masks."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TOWN = ROOT / "resources" / "examples" / "harbour_town.geojson"


@pytest.fixture(scope="module")
def models_dir(packs, tmp_path_factory):
    from app.jobs.ai import Engines

    root = tmp_path_factory.mktemp("models")
    store = Engines(root).store
    for name in ("z_image", "klein"):
        store.import_path(packs[name])
    return root


def _cli(args, cwd, models_dir=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if models_dir is not None:
        env["MAPBRUSH_MODELS_DIR"] = str(models_dir)
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip


def readme_lines() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Repaint a region")
    section = text[start : text.find("\n## ", start + 1)]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_repaint_lines_run_and_keep_the_rest_of_the_picture(tmp_path, models_dir):
    from app.jobs.reference import dilate

    shutil.copy(TOWN, tmp_path / "town.geojson")  # the reader's map file, beside the picture
    mask = np.zeros((60, 80), np.uint8)
    mask[10:40, 20:60] = 255  # drawn at half the picture's size
    Image.fromarray(mask).save(tmp_path / "mask.png")
    lines = readme_lines()
    assert len(lines) == 2 and "--repaint-mask" in lines[1]
    first = [*lines[0][1:], "--size", "160x120"]
    made = _cli(first, tmp_path, models_dir)
    assert made.returncode == 0, made.stderr
    done = _cli(lines[1][1:], tmp_path, models_dir)
    assert done.returncode == 0, done.stderr
    assert "repainted" in done.stdout

    from app.export.png import read_metadata, read_rgb

    before, after = read_rgb(tmp_path / "preview.png"), read_rgb(tmp_path / "fixed.png")
    big = np.asarray(Image.fromarray(mask).resize((160, 120))) >= 128
    changed = (before != after).any(axis=-1)
    assert not changed[~dilate(big, 2)].any() and changed[big].mean() > 0.5
    meta = read_metadata(tmp_path / "fixed.png")
    record = meta["repaints"][-1]
    assert record["seed"] == 7 and "a lighthouse" in record["prompt"] and record["from"]["name"] == "preview.png"
    assert meta["style"] == "watercolor" and meta["size"] == [160, 120]


@pytest.mark.parametrize(
    ("mask", "words"),
    [("missing.png", "does not exist"), ("text.png", "not an image"), ("blank.png", "blank")],
)
def test_a_bad_mask_is_one_line_and_exit_2(tmp_path, mask, words):
    from app.export.png import write_png

    write_png(tmp_path / "pic.png", np.zeros((30, 40, 3), np.uint8),
              {"app": "mapbrush", "engine": "preview", "size": [40, 30], "inputs": []})  # fmt: skip
    (tmp_path / "text.png").write_text("no picture")
    Image.new("L", (40, 30), 0).save(tmp_path / "blank.png")
    proc = _cli(["render", "--repaint-from", "pic.png", "--repaint-mask", mask, "-o", "out.png"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mapbrush: error:") and mask in lines[0] and words in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_repaint_options_go_together(tmp_path):
    proc = _cli(["render", "--repaint-mask", "m.png"], tmp_path)
    assert proc.returncode == 2 and "--repaint-from" in proc.stderr and "Traceback" not in proc.stderr
    Image.new("RGB", (20, 20)).save(tmp_path / "plain.png")
    Image.new("L", (20, 20), 255).save(tmp_path / "m.png")
    proc = _cli(["render", "--repaint-from", "plain.png", "--repaint-mask", "m.png"], tmp_path)
    assert proc.returncode == 2 and "plain.png" in proc.stderr and "no MapBrush settings" in proc.stderr
