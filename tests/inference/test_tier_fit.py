"""Static VRAM check of the GPU tiers in models.toml: full-size models counted on the meta device.

CPU only, no network, no weights: `tests/bench/tier_fit.py` (or `tests/bench/gpu_bench.py --fit`) prints the
same numbers as a table.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    """A module of tests/bench by path. Registered under its own name: dataclasses look their module up in
    sys.modules, and gpu_bench.py's `from tier_fit import ...` then reuses this copy (and its cache)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("tier_fit")


@pytest.fixture(scope="module")
def catalog():
    from app.models.catalog import load_catalog

    return load_catalog()


# (model id, component, published parameters, relative tolerance). A figure published to n significant
# digits is exact to half its last digit; the tolerance is that, rounded up.
PUBLISHED = [
    # Z-Image technical report (arXiv 2511.22699) and Tongyi-MAI's model card: a 6.15B-parameter S3-DiT.
    ("z-image-turbo", "transformer", 6.15e9, 0.01),
    # Qwen/Qwen3-4B model card: "Number of Parameters: 4.0B" (embeddings tied to the lm_head).
    ("z-image-turbo", "text_encoder", 4.0e9, 0.0125),
    ("flux2-klein-4b", "text_encoder", 4.0e9, 0.0125),
    # Qwen/Qwen3-8B model card: "Number of Parameters: 8.2B" (FLUX.2 [klein] 9B's text encoder).
    ("flux2-klein-9b", "text_encoder", 8.2e9, 0.0125),
    # Black Forest Labs: FLUX.2 [klein] "4B" and "9B" flow models, FLUX.2 [dev] a "32B" flow transformer;
    # Mistral Small 3.1/3.2 "24B". One significant digit (two for 32 and 24): +-0.5B.
    ("flux2-klein-4b", "transformer", 4e9, 0.125),
    ("flux2-klein-9b", "transformer", 9e9, 0.056),
    ("flux2-dev", "transformer", 32e9, 0.016),
    ("flux2-dev", "text_encoder", 24e9, 0.021),
]


@pytest.mark.parametrize(("model_id", "component", "published", "tolerance"), PUBLISHED)
def test_full_size_parameter_counts_match_published_figures(bench, model_id, component, published, tolerance):
    params = bench.model_weights(model_id)[component].params
    assert params == pytest.approx(published, rel=tolerance), f"{model_id} {component}: {params / 1e9:.3f}B"


# models.toml sizes of single bf16 files (decimal GB as the hub shows them, 2 bytes per parameter):
# a tighter check than the rounded headline figures. 1 %: the sizes are given to 3 digits, plus headers.
FILE_SIZES = [
    ("flux2-klein-4b", "transformer", "flux2-klein-4b", "transformer"),  # 7.75 GB
    ("z-image-turbo-controlnet", "controlnet", "z-image-turbo-controlnet", None),  # 6.71 GB
    ("z-image-turbo", "vae", "z-image-turbo", "vae"),  # 0.168 GB
]


@pytest.mark.parametrize(("model_id", "component", "entry", "catalog_component"), FILE_SIZES)
def test_parameter_counts_match_the_bf16_file_sizes(bench, catalog, model_id, component, entry, catalog_component):
    model = catalog.models[entry]
    size_gb = model.components[catalog_component].size_gb if catalog_component else model.variants["bf16"].size_gb
    params = bench.model_weights(model_id)[component].params
    assert params * 2 == pytest.approx(size_gb * 1e9, rel=0.01)


def test_every_cuda_tier_default_preset_fits_with_headroom(bench, catalog):
    rows = [r for r in bench.fit_rows(catalog) if not r.optional]
    cuda_stages = sum(p.enabled for t in catalog.tiers.values() if t.device == "cuda" for p in (t.preview, t.final))
    assert len(rows) == cuda_stages > 0
    failing = [
        f"{r.tier} {r.stage} {r.ref} offload={r.offload}: {r.resident} GiB + 1.5 > {r.vram} GiB"
        for r in rows
        if r.resident is None or r.resident + 1.5 > r.vram
    ]
    assert not failing, "\n".join(failing)


def test_offloading_and_quantisation_lower_the_estimate(bench, catalog):
    bf16 = bench.stage_weights(catalog, "z-image-turbo", "bf16", controlnet=True)
    q4 = bench.stage_weights(catalog, "z-image-turbo", "q4_k_m")
    modes = [bench.resident_gib(bf16, m) for m in ("none", "model", "group", "sequential")]
    assert modes == sorted(modes, reverse=True) and len(set(modes)) == 4
    assert modes[0] == pytest.approx(sum(p.total for p in bf16.values()))
    assert "controlnet" in bf16 and "controlnet" not in q4
    formula = bench.component_gib(bench.model_weights("z-image-turbo")["transformer"], "bf16", 4.85).total
    file_gib = catalog.models["z-image-turbo"].variants["q4_k_m"].size_gb * 1e9 / 2**30
    assert formula < file_gib  # the community file keeps some tensors wider than Q4_K_M: its size counts
    assert q4["transformer"].total == pytest.approx(file_gib)
    assert q4["transformer"].total < bf16["transformer"].total / 2
    assert q4["text_encoder"] == bf16["text_encoder"]  # GGUF quantises the transformer only
    assert bench.stage_weights(catalog, "z-image-turbo", "bf16", "fp32")["vae"].total == pytest.approx(
        2 * bf16["vae"].total
    )


def _fails(rows, fp32: bool = False) -> list[str]:
    """'tier stage model:variant dtype offload: weights GiB VERDICT in min_vram GiB' of each row that is not OK."""
    out = []
    for r in rows:
        offload, resident, verdict = (
            (r.fp32_offload, r.fp32, r.fp32_verdict) if fp32 else (r.offload, r.resident, r.verdict)
        )
        if verdict != "OK":
            weights = "unknown" if resident is None else f"{resident:.2f}"
            dtype = "fp32" if fp32 else "bf16"
            out.append(f"{r.tier} {r.stage} {r.ref} {dtype} offload={offload}: {weights} GiB {verdict} in {r.vram} GiB")
    return out


def test_every_optional_model_fits_under_its_escalated_offload(bench, catalog):
    rows = [r for r in bench.fit_rows(catalog) if r.optional]
    cuda_optional = sum(
        len(p.optional) for t in catalog.tiers.values() if t.device == "cuda" for p in (t.preview, t.final) if p.enabled
    )
    assert len(rows) == cuda_optional > 0
    failing = _fails(rows)
    assert not failing, "\n".join(failing)


def test_every_default_preset_fits_in_fp32_with_more_offload(bench, catalog):
    """GPUs without bf16: app/models/tiers.py switches to fp32 and raises the offload one step (MORE_OFFLOAD)."""
    rows = [r for r in bench.fit_rows(catalog) if not r.optional]
    assert rows
    failing = _fails(rows, fp32=True)
    assert not failing, "\n".join(failing)


def test_every_optional_model_fits_in_fp32_with_more_offload(bench, catalog):
    rows = [r for r in bench.fit_rows(catalog) if r.optional]
    failing = _fails(rows, fp32=True)
    assert not failing, "\n".join(failing)


def test_offload_of_optional_models_and_fp32_fallback_follows_the_app(bench, catalog):
    """The estimate uses the offload the app really picks: tiers.py (fp32 without bf16) then ai.py's _offload_for."""
    from app.jobs.ai import _offload_for
    from app.models.hardware import GIB, Gpu, Hardware
    from app.models.tiers import choose_tier

    def hardware(gb, cc):
        gpu = Gpu(0, "test", int(gb * GIB), None, cc)
        return Hardware(system="Linux", ram_total=64 * GIB, gpus=(gpu,), torch_installed=True,
                        torch_version="2.9.0+cu128", torch_cuda="12.8")  # fmt: skip

    checked = 0
    for name, preset in catalog.tiers.items():
        if preset.device != "cuda":
            continue
        for column, cc in ((0, (8, 9)), (1, (7, 5))):  # with bf16, and without (fp32)
            tier = choose_tier(hardware(preset.min_vram_gb + 0.5, cc), catalog, name)
            for stage, raw in ((tier.preview, preset.preview), (tier.final, preset.final)):
                assert bench.offloads_for(raw)[column] == stage.offload, (name, stage.name, cc)
                for option, raw_option in zip(stage.optional, raw.optional, strict=True):
                    expected = _offload_for(stage, option.model)
                    assert bench.offloads_for(raw, raw_option)[column] == expected, (name, option.ref, cc)
                    checked += 1
    assert checked >= 6  # the 24 and 48 GB tiers' upgrades, each with and without bf16


def test_gpu_bench_fit_prints_the_table(capsys):
    _load("tier_fit")
    bench = _load("gpu_bench")
    assert bench.main(["--fit"]) == 0
    out = capsys.readouterr().out
    assert "fp32 fallback" in out
    assert [line for line in out.splitlines() if line.startswith("cuda-") and " + " in line]  # optional rows
