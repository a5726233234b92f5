"""`python -m tests.tiny_models DIR` fills a models folder the way downloads do; the CLI then uses it."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, models_dir=None, timeout=300):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("MAPBRUSH_MODELS_DIR", None)
    if models_dir is not None:
        env["MAPBRUSH_MODELS_DIR"] = str(models_dir)
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-models")
    proc = _run("tests.tiny_models", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_layout_and_registry_are_those_of_a_download(tiny_dir):
    hub = tiny_dir / "hub"
    assert (hub / "Tongyi-MAI--Z-Image-Turbo" / "model_index.json").is_file()
    assert (hub / "Tongyi-MAI--Z-Image-Turbo" / "transformer" / "config.json").is_file()
    assert (hub / "jayn7--Z-Image-Turbo-GGUF" / "z_image_turbo-Q8_0.gguf").is_file()
    assert (hub / "unsloth--FLUX.2-klein-4B-GGUF" / "flux-2-klein-4b-Q8_0.gguf").is_file()
    registry = json.loads((tiny_dir / "registry.json").read_text())
    records = {(r["model_id"], r["variant"]): r for r in registry["installed"]}
    from app.models.catalog import load_catalog

    catalog = load_catalog()
    assert set(records) == {(m, v) for m, e in catalog.models.items() for v in e.variants}  # every variant
    assert all(r["source"] == "download" for r in records.values())
    gguf = records[("z-image-turbo", "q8_0")]
    assert gguf["path"] == "hub/jayn7--Z-Image-Turbo-GGUF/z_image_turbo-Q8_0.gguf"
    for key in gguf["files"]:  # every file verified: size and sha256, as after a download
        entry = registry["files"][key]
        assert entry["size"] > 0 and len(entry["sha256"]) == 64
    assert "Tongyi-MAI/Z-Image-Turbo/vae/diffusion_pytorch_model.safetensors" in gguf["files"]


def test_models_list_shows_them_installed(tiny_dir):
    proc = _run("app", "models", "list", "--json", models_dir=tiny_dir)
    assert proc.returncode == 0, proc.stderr
    rows = {(r["model"], r["variant"]): r["installed"] for r in json.loads(proc.stdout)}
    assert rows[("z-image-turbo", "bf16")] == "yes"
    assert rows[("z-image-turbo", "q8_0")] == "yes"
    assert rows[("flux2-klein-4b", "q8_0")] == "yes"
    assert rows[("z-image-turbo-controlnet", "bf16")] == "yes"
    assert rows[("z-image-turbo-controlnet", "2602-8steps")] == "yes"  # the 8-step files of the model card
    assert rows[("z-image-turbo-controlnet", "2601-8steps")] == "yes"
    assert rows[("z-image-turbo", "q4_k_m")] == "yes"
    assert set(rows.values()) == {"yes"}  # every variant of the catalog


def test_preview_render_runs_from_them_on_cpu(tiny_dir, tmp_path):
    out = tmp_path / "x.png"
    proc = _run("app", "render", "--example", "--engine", "preview", "--size", "128x96", "-o", out, models_dir=tiny_dir)
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(out) as img:
        assert img.size == (128, 96)
        meta = json.loads(img.info["mapbrush"])
    assert meta["engine"] == "preview" and meta["models"] == [
        "z-image-turbo:q4_k_m"
    ]  # the CPU tier's own variant, a Q4_K_M GGUF
    assert meta["stages"]["preview"]["device"] == "cpu"


def test_adopt_refuses_an_incomplete_folder(tiny_dir, tmp_path):
    from app.errors import InputError
    from app.models.catalog import load_catalog
    from app.models.store import ModelStore

    store = ModelStore(load_catalog(), tmp_path)
    gguf = tmp_path / "hub" / "jayn7--Z-Image-Turbo-GGUF" / "z_image_turbo-Q8_0.gguf"
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes((tiny_dir / "hub" / "jayn7--Z-Image-Turbo-GGUF" / gguf.name).read_bytes())
    with pytest.raises(InputError, match=r"model_index\.json is missing"):
        store.adopt("z-image-turbo", "q8_0")  # the base folder (configs, VAE, text encoder) is not there
    assert store.installed() == {}


def test_every_catalog_variant_generates_on_cpu_through_the_app_path(tiny_dir):
    """Each (model, variant) is located in the registry, planned by the engine and rendered, as after a download."""
    from app.inference import api
    from app.jobs.ai import Engines
    from app.models.catalog import load_catalog

    catalog = load_catalog()
    engine = Engines(tiny_dir, "cpu", catalog=catalog)
    done = []
    for mid, entry in catalog.models.items():
        if entry.role == "controlnet":
            continue
        for variant in entry.variants:
            plan, model = engine.plan(entry.role, (32, 32), steps=1, model=f"{mid}:{variant}")
            assert (model.model_id, model.variant) == (mid, variant)
            plan = dataclasses.replace(plan, device="cpu", dtype="float32", offload="none", width=32, height=32)
            out = api.generate(engine.manager, plan, prompt="map", seed=1)
            assert out.shape == (32, 32, 3) and out.std() > 0.5, (mid, variant)
            engine.manager.unload()
            done.append((mid, variant))
    assert len(done) == sum(len(e.variants) for e in catalog.models.values() if e.role != "controlnet")
