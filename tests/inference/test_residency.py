"""The model cache: its budget from RAM and VRAM, LRU eviction, both stages resident, byte-identical components once."""

import dataclasses
import hashlib
import shutil

import pytest

from app.inference import api
from app.inference.manager import GB, ModelManager, Residency, cache_budget_bytes

GIB = 1024**3


def test_budget_from_ram_and_vram():
    # 16 GiB RAM, 12 GiB card, model offload: every resident weight has its copy in RAM; 4 GB for OS and app
    assert cache_budget_bytes(16 * GIB, 12 * GIB) == 16 * GIB - 4 * GB
    assert cache_budget_bytes(64 * GIB, 24 * GIB) == 64 * GIB - 64 * GIB // 8  # a big machine keeps an eighth
    # no offload on a GPU: the weights live in VRAM, less room for activations and the VAE decode
    assert cache_budget_bytes(16 * GIB, 24 * GIB, weights_on_gpu=True) == 24 * GIB - 24 * GIB // 6
    assert cache_budget_bytes(64 * GIB, 8 * GIB, weights_on_gpu=True) == 8 * GIB - 2 * GB
    assert cache_budget_bytes(4 * GIB) == GB  # never under 1 GB
    assert cache_budget_bytes(None) == 4 * GB  # RAM unknown: as for an 8 GB machine
    assert cache_budget_bytes(16 * GIB, 12 * GIB, setting_gb=6) == 6 * GB  # the setting wins
    assert cache_budget_bytes(16 * GIB, 12 * GIB, setting_gb=0) == 16 * GIB - 4 * GB  # 0 = auto


def test_residency_line():
    rows = (("Z-Image-Turbo q8_0", int(7.7 * GB)), ("FLUX.2 [klein] 4B q8_0", int(7.8 * GB)))
    r = Residency(rows, int(8.9 * GB), 12 * GB)
    line = r.line()
    assert line.startswith("Resident: Z-Image-Turbo q8_0 (7.7 GB), FLUX.2 [klein] 4B q8_0 (7.8 GB)")
    assert "6.6 GB shared" in line and line.endswith("room left 3.1 GB of 12.0 GB")
    assert Residency(budget_bytes=12 * GB).line() == "Resident: nothing · room left 12.0 GB of 12.0 GB"


def _gen(manager, plan, painting):
    api.generate(manager, dataclasses.replace(plan, steps=1), prompt="map", image=painting, seed=1)


def _keys(manager):
    return [k[0] for k in manager.resident()]


def test_both_stages_stay_resident_when_they_fit_and_lru_goes_first(plans, packs, painting):
    probe = ModelManager(budget_bytes=100 * GB)
    _gen(probe, plans.preview(), painting)
    preview_bytes = probe.loaded_bytes
    _gen(probe, plans.final(), painting)
    both = probe.loaded_bytes
    assert _keys(probe) == ["z_image", "flux2_klein"] and both > preview_bytes > 0
    assert [n for _, n in probe.residency.pipelines] == [preview_bytes, both - preview_bytes]
    assert probe.residency.room_bytes == 100 * GB - both

    manager = ModelManager(budget_bytes=both)  # exactly room for preview and final
    _gen(manager, plans.preview(), painting)
    _gen(manager, plans.final(), painting)
    _gen(manager, plans.preview(), painting)  # used last: the final is now the least recently used
    assert _keys(manager) == ["flux2_klein", "z_image"] and manager.stats["evictions"] == 0
    assert manager.stats["pipeline_builds"] == 2  # nothing was rebuilt
    # a third model (Klein with its GGUF transformer) needs more room: the least recently used goes, not the newest
    _gen(manager, plans.final(transformer_file=packs["klein_gguf"]), painting)
    assert "z_image" in _keys(manager) and manager.stats["evictions"] >= 1
    assert manager.loaded_bytes <= both or len(manager.resident()) == 1
    assert manager.residency.used_bytes == manager.loaded_bytes


def _copy_pack(src, dst, *, change_text_encoder=False):
    shutil.copytree(src, dst)
    if change_text_encoder:  # the same shapes, other bytes: a different model
        from safetensors.torch import load_file, save_file

        for f in (dst / "text_encoder").glob("*.safetensors"):
            tensors = load_file(f)
            name = next(iter(tensors))
            tensors[name] = tensors[name] + 1
            save_file(tensors, f)
    return dst


def _hashes(*folders):
    """What the store records at download: the sha256 of every file, by resolved path."""
    files = [f for d in folders for f in d.rglob("*") if f.is_file()]
    return {str(f.resolve()): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.mark.parametrize("same", [True, False])
def test_byte_identical_component_of_two_models_loads_once(plans, packs, painting, tmp_path, same):
    other = _copy_pack(packs["z_image"], tmp_path / "other-repo", change_text_encoder=not same)
    manager = ModelManager(budget_bytes=100 * GB, file_hashes=lambda: _hashes(packs["z_image"], other))
    _gen(manager, plans.preview(), painting)
    loads = manager.stats["component_loads"]
    _gen(manager, plans.preview(model_dir=other), painting)
    a, b = (manager.pipeline(k, None) for k in manager.resident())
    assert len(manager.resident()) == 2
    assert a.vae is b.vae and a.transformer is b.transformer  # untouched files: same sha256, loaded once
    if same:
        assert a.text_encoder is b.text_encoder
        assert manager.stats["component_loads"] == loads
        assert manager.residency.shared_bytes == sum(n for _, n in manager.residency.pipelines) // 2
    else:
        assert a.text_encoder is not b.text_encoder
        assert manager.stats["component_loads"] == loads + 1  # only the text encoder that differs


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_size_estimate_before_loading_matches_the_loaded_weights(packs, dtype):
    """The manager makes room from this estimate before it loads: it must be what loading then holds."""
    import torch

    from app.inference import loading
    from app.inference.manager import estimate_bytes

    specs = loading.folder_specs(packs["z_image"], getattr(torch, dtype), "z_image")
    checked = 0
    for name, spec in specs.items():
        loaded = loading.module_bytes(loading.load_component(spec))
        if loaded:
            assert abs(estimate_bytes(spec) - loaded) <= 0.02 * loaded, name
            checked += 1
        else:  # tokenizer, scheduler: no weights
            assert estimate_bytes(spec) == 0, name
    assert checked >= 3  # transformer, vae, text encoder


def test_one_models_pipelines_are_one_row(plans, painting, structure):
    """Z-Image's img2img and ControlNet pipelines share their weights: one row, its bytes counted once."""
    manager = ModelManager(budget_bytes=100 * GB, namer=lambda key: "Z-Image-Turbo tiny")
    _gen(manager, plans.preview(), painting)
    api.generate(manager, dataclasses.replace(plans.controlnet(), steps=1), prompt="map", control=structure, seed=1)
    assert len(manager.resident()) >= 2
    ((label, nbytes),) = manager.residency.pipelines
    assert label == "Z-Image-Turbo tiny" and nbytes == manager.loaded_bytes and manager.residency.shared_bytes == 0
