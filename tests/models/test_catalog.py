import copy

import pytest

from app.models.catalog import CatalogError, load_catalog, parse_catalog
from app.paths import models_toml
from tests.models.conftest import small_catalog_dict


def test_shipped_catalog_validates():
    catalog = load_catalog()
    assert {"z-image-turbo", "z-image-turbo-controlnet", "flux2-klein-4b", "flux2-klein-9b", "flux2-dev"} <= set(
        catalog.models
    )
    assert {"cpu", "mps", "cuda-6gb", "cuda-8gb", "cuda-12gb", "cuda-16gb", "cuda-24gb", "cuda-48gb"} <= set(
        catalog.tiers
    )
    assert catalog.models["flux2-klein-9b"].commercial_use is False
    assert catalog.models["flux2-dev"].pipeline == "Flux2Pipeline"
    assert catalog.models["z-image-turbo"].licence == "apache-2.0"
    eight = catalog.tiers["cuda-8gb"]
    assert eight.preview.enabled and eight.final.enabled
    assert eight.preview.variant.startswith("q4") and eight.final.variant.startswith("q4")
    assert eight.preview.offload in ("group", "sequential") and eight.final.offload in ("group", "sequential")
    assert catalog.path == str(models_toml())


def _broken(change):
    data = copy.deepcopy(small_catalog_dict())
    change(data)
    with pytest.raises(CatalogError) as info:
        parse_catalog(data, path="models.toml")
    assert info.value.path == "models.toml"
    return info.value.message


def _stage(d):
    return d["tiers"]["cpu"]["preview"]


def _model(d):
    return d["models"]["zit"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d.update(schema_version=2), "schema_version: expected 1"),
        (lambda d: _model(d).update(colour="red"), "models.zit.colour: unknown key"),
        (lambda d: _model(d).pop("licence"), "models.zit.licence: missing"),
        (lambda d: _model(d).update(family="sdxl"), "models.zit.family: 'sdxl' is not one of"),
        (lambda d: _model(d).update(gated="no"), "models.zit.gated: must be true or false"),
        (lambda d: _model(d).update(repo="not a repo"), "models.zit.repo:"),
        (lambda d: _model(d)["variants"]["q4_k_m"].pop("file"), "models.zit.variants.q4_k_m.file: missing"),
        (
            lambda d: _model(d)["variants"]["q4_k_m"].update(components=["vae"]),
            "models.zit.variants.q4_k_m.components: no component 'vae'",
        ),
        (
            lambda d: _model(d)["variants"]["q4_k_m"].update(sha256="abc"),
            "models.zit.variants.q4_k_m.sha256: must be 64",
        ),
        (lambda d: _stage(d).update(variant="q3"), "tiers.cpu.preview.variant: no variant 'q3' in model zit"),
        (lambda d: _stage(d).update(model="nope"), "tiers.cpu.preview.model: no model 'nope'"),
        (lambda d: _stage(d).update(dtype="fp16"), "tiers.cpu.preview.dtype: fp16 is not allowed"),
        (lambda d: _stage(d).update(offload="disk"), "tiers.cpu.preview.offload: 'disk' is not one of"),
        (lambda d: _stage(d).update(controlnet=True), "tiers.cpu.preview.controlnet: no controlnet model"),
        (lambda d: _stage(d).update(optional=["zit:q9"]), "tiers.cpu.preview.optional: 'zit:q9' is not a preview"),
        (lambda d: _stage(d).update(optional=["zit:q4_k_m@disk"]), "'zit:q4_k_m@disk': offload must be one of"),
        (lambda d: _stage(d).update(resolution=1000), "tiers.cpu.preview.resolution: must be a multiple of 16"),
        (lambda d: _stage(d).pop("steps"), "tiers.cpu.preview.steps: missing"),
        (lambda d: d["tiers"]["cpu"].update(final={"enabled": False}), "tiers.cpu.final.reason:"),
        (lambda d: d["tiers"]["cpu"].update(device="cuda"), "tiers.cpu.min_vram_gb: missing"),
        (lambda d: d["tiers"]["cpu"].pop("final"), "tiers.cpu.final: missing"),
        (
            lambda d: d["tiers"]["cpu"].update(final=dict(_stage(d))),
            "tiers.cpu.final.model: model zit has role 'preview', not 'final'",
        ),
    ],
)
def test_each_error_names_its_key(change, expected):
    assert expected in _broken(change)


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "models.toml"
    bad.write_text("schema_version = [", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML") as info:
        load_catalog(bad)
    assert info.value.path == str(bad)
    with pytest.raises(CatalogError, match="missing"):
        load_catalog(tmp_path / "absent.toml")


def test_download_size_marks_unknown_parts(small_catalog):
    entry = small_catalog.models["zit"]
    assert entry.download_size("bf16") == (0.001, False)  # base and transformer sizes unknown


def test_controlnet_offers_the_8_step_files_newest_first():
    """The model card: the 2601/2602 files are distilled for Turbo's 8 steps; the newest is the default."""
    catalog = load_catalog()
    cn = catalog.models["z-image-turbo-controlnet"]
    assert list(cn.variants)[:2] == ["2602-8steps", "2601-8steps"]  # first = what `models download` picks
    assert cn.variants["2602-8steps"].file == "Z-Image-Turbo-Fun-Controlnet-Union-2.1-2602-8steps.safetensors"
    assert cn.variants["2601-8steps"].file == "Z-Image-Turbo-Fun-Controlnet-Union-2.1-2601-8steps.safetensors"
    assert cn.variants["bf16"].file == "Z-Image-Turbo-Fun-Controlnet-Union-2.1.safetensors"  # older installs stay valid
    assert all(v.repo == "alibaba-pai/Z-Image-Turbo-Fun-Controlnet-Union-2.1" for v in cn.variants.values())
    for name, tier in catalog.tiers.items():  # every tier that guides its preview finds this ControlNet
        if tier.preview.enabled and tier.preview.controlnet:
            assert catalog.controlnet_for(tier.preview.model) is cn, name
    assert any(t.preview.controlnet for t in catalog.tiers.values())
