"""Finding 7 of issue 13 through the real CLI: a render with a damaged text encoder exits 3 with one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, models_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", MAPBRUSH_MODELS_DIR=str(models_dir))
    return subprocess.run([sys.executable, "-m", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    proc = _run("tests.tiny_models", root, models_dir=root)
    assert proc.returncode == 0, proc.stderr
    return root


def test_overwritten_text_encoder_exits_3_naming_model_file_and_fix(tiny_dir, tmp_path):
    encoders = sorted((tiny_dir / "hub").glob("Tongyi-MAI--Z-Image-Turbo/text_encoder/*.safetensors"))
    assert encoders, "the tiny Z-Image has a safetensors text encoder"
    with open(encoders[0], "r+b") as fh:  # one byte range overwritten, as a broken download leaves it
        fh.seek(10)
        fh.write(b"\xff" * 32)
    out = tmp_path / "x.png"
    proc = _run("app", "render", "--example", "--engine", "preview", "--size", "128x96", "-o", out,
                models_dir=tiny_dir)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("mapbrush:")]
    assert len(lines) == 1, proc.stderr
    assert str(encoders[0]) in lines[0] and "Z-Image" in lines[0]
    assert "mapbrush models download z-image-turbo --variant bf16 --repair" in lines[0]
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    verify = _run("app", "models", "verify", "z-image-turbo", models_dir=tiny_dir)
    assert verify.returncode == 3
    assert str(encoders[0]) in verify.stdout
