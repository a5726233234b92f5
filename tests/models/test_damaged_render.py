"""Finding 7 of issue 13 through the real CLI: a render with a damaged text encoder exits 3 with one line."""

import os
import re
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
    good = encoders[0].read_bytes()
    with open(encoders[0], "r+b") as fh:  # one byte range overwritten, as a broken download leaves it
        fh.seek(10)
        fh.write(b"\xff" * 32)
    out = tmp_path / "x.png"
    proc = _run("app", "render", "--example", "--engine", "preview", "--tier", "cpu", "--size", "128x96", "-o", out,
                models_dir=tiny_dir)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("mapbrush:")]
    assert len(lines) == 1, proc.stderr
    assert str(encoders[0]) in lines[0] and "Z-Image" in lines[0]
    assert re.search(r"repair it with: mapbrush models download z-image-turbo --variant \S+ --repair$", lines[0])
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    verify = _run("app", "models", "verify", "z-image-turbo", models_dir=tiny_dir)
    assert verify.returncode == 3
    assert str(encoders[0]) in verify.stdout
    encoders[0].write_bytes(good)


def test_truncated_gguf_transformer_exits_3_naming_it(tiny_dir, tmp_path):
    from app.models.catalog import load_catalog

    catalog = load_catalog()
    variant = catalog.tiers["cpu"].preview.variant  # the CPU tier loads its transformer from a GGUF file
    entry = catalog.models["z-image-turbo"]
    assert entry.variants[variant].format == "gguf"
    gguf = tiny_dir / "hub" / entry.variants[variant].repo.replace("/", "--") / entry.variants[variant].file
    with open(gguf, "r+b") as fh:
        fh.truncate(gguf.stat().st_size * 2 // 3)  # an interrupted copy
    proc = _run("app", "render", "--example", "--engine", "preview", "--tier", "cpu", "--size", "128x96",
                "-o", tmp_path / "x.png", models_dir=tiny_dir)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("mapbrush:")]
    assert len(lines) == 1 and str(gguf) in lines[0] and "is truncated" in lines[0], proc.stderr
    assert f"--variant {variant} --repair" in lines[0] and "Traceback" not in proc.stderr
