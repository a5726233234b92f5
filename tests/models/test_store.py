import dataclasses
import json
import struct

import pytest

from app.errors import InputError
from app.models.catalog import load_catalog
from app.models.doctor import MODEL_TABLE_HEADER, diagnose, format_models_table
from app.models.hardware import GIB, Gpu, Hardware
from app.models.store import ModelStore
from app.models.tiers import choose_tier
from app.paths import models_dir

CATALOG = load_catalog()


def safetensors(path, header=None):
    raw = json.dumps(header or {"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0\0")
    return path


def test_default_root_is_models_dir():
    assert ModelStore(CATALOG).root == models_dir()


def test_import_diffusers_folder(tmp_path):
    folder = tmp_path / "Z-Image-Turbo"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "ZImagePipeline"}')
    store = ModelStore(CATALOG, tmp_path / "models")
    model = store.import_path(folder)
    assert (model.model_id, model.variant, model.format, model.source) == (
        "z-image-turbo",
        "bf16",
        "diffusers",
        "import",
    )
    assert store.locate("z-image-turbo", "bf16").weights == folder


def test_import_gguf_needs_shared_components(tmp_path):
    gguf = tmp_path / "z_image_turbo-Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    store = ModelStore(CATALOG, tmp_path / "models")
    model = store.import_path(gguf)
    assert (model.model_id, model.variant) == ("z-image-turbo", "q4_k_m")
    assert not model.ready and "text_encoder" in model.missing
    assert store.locate("z-image-turbo", "q4_k_m") is None
    rows = format_models_table(CATALOG, store)
    assert rows[0] == MODEL_TABLE_HEADER
    row = next(r for r in rows if r[:2] == ("z-image-turbo", "q4_k_m"))
    assert row[-1].startswith("partly") and "imported" in row[-1]
    store.remove("z-image-turbo", "q4_k_m")
    assert gguf.exists() and store.installed() == {}  # imported files are never deleted


def test_import_controlnet_safetensors(tmp_path):
    path = safetensors(tmp_path / "Z-Image-Turbo-Fun-Controlnet-Union-2.1.safetensors")
    model = ModelStore(CATALOG, tmp_path / "m").import_path(path)
    assert (model.model_id, model.variant, model.ready) == ("z-image-turbo-controlnet", "bf16", True)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.ckpt", b"x", "pickles"),
        ("model.pth", b"x", "pickles"),
        ("fake.gguf", b"NOPE" * 4, "does not start with 'GGUF'"),
        ("fake.safetensors", b"\xff" * 16, "bad header length"),
        ("notes.txt", b"hello", "not a model"),
    ],
)
def test_import_refuses(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        ModelStore(CATALOG, tmp_path / "m").import_path(path, model_id="z-image-turbo")
    assert info.value.path == str(path)


def test_ambiguous_single_file_asks_which_model(tmp_path):
    path = tmp_path / "weights-Q8_0.gguf"
    path.write_bytes(b"GGUF....")
    with pytest.raises(InputError, match="say which model"):
        ModelStore(CATALOG, tmp_path / "m").import_path(path)
    model = ModelStore(CATALOG, tmp_path / "m").import_path(path, model_id="flux2-klein-4b")
    assert model.variant == "q8_0"


def test_doctor_reports_tier_and_next_steps(tmp_path):
    gpu = Gpu(0, "RTX 3070", 8 * GIB, 7 * GIB, (8, 6))
    hw = Hardware(system="Linux", ram_total=32 * GIB, gpus=(gpu,), nvidia_driver="570.1", driver_cuda=(12, 8))
    hw = dataclasses.replace(hw, torch_installed=True, torch_version="2.9.0+cpu")
    store = ModelStore(CATALOG, tmp_path / "m")
    tier = choose_tier(hw, CATALOG)
    report = diagnose(hw, CATALOG, store, tier)
    text = "\n".join(report.lines())
    assert "RTX 3070" in text and "570.1" in text and "CPU-only build" in text
    assert "download.pytorch.org/whl/cu128" in text
    assert "Tier" in text and not report.ok
    assert "mapbrush models download z-image-turbo --variant q4_k_m" in text


def test_doctor_offers_the_tiers_optional_final_models_with_their_terms(tmp_path):
    gpu = Gpu(0, "RTX 4090", 24 * GIB, 23 * GIB, (8, 9))
    hw = Hardware(system="Linux", ram_total=64 * GIB, gpus=(gpu,), nvidia_driver="570.1", driver_cuda=(12, 8))
    hw = dataclasses.replace(hw, torch_installed=True, torch_version="2.9.0+cu128", torch_cuda="12.8")
    tier = choose_tier(hw, CATALOG)
    assert tier.name == "cuda-24gb"
    text = "\n".join(diagnose(hw, CATALOG, ModelStore(CATALOG, tmp_path / "m"), tier).lines())
    line = next(t for t in text.splitlines() if t.startswith("Optional final"))
    assert "FLUX.2 [klein] 9B" in line and "non-commercial" in line
    assert "mapbrush models download flux2-klein-9b --variant q4_k_m" in line


def test_doctor_never_says_all_is_well_when_no_engine_can_run(tmp_path):
    hw = Hardware(system="Linux", ram_total=16 * GIB)  # no GPU, but a CUDA tier asked for
    tier = choose_tier(hw, CATALOG, "cuda-24gb")
    report = diagnose(hw, CATALOG, ModelStore(CATALOG, tmp_path / "m"), tier)
    text = "\n".join(report.lines())
    assert not report.ok and "in place" not in text
    assert "leave out --tier" in text


def test_imported_controlnet_files_are_known_by_their_catalog_names(tmp_path):
    store = ModelStore(CATALOG, tmp_path / "m")
    for name, variant in [
        ("Z-Image-Turbo-Fun-Controlnet-Union-2.1-2601-8steps.safetensors", "2601-8steps"),
        ("Z-Image-Turbo-Fun-Controlnet-Union-2.1-2602-8steps.safetensors", "2602-8steps"),
    ]:
        model = store.import_path(safetensors(tmp_path / name))
        assert (model.model_id, model.variant, model.ready) == ("z-image-turbo-controlnet", variant, True)
    # the catalog's order, default first, whatever order they were installed in
    assert [m.variant for m in store.ready_variants("z-image-turbo-controlnet")] == ["2602-8steps", "2601-8steps"]
