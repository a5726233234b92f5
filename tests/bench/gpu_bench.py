"""Seconds per image, peak VRAM and peak RAM of the AI engines, per GPU tier.

Builds FULL-SIZE Z-Image-Turbo and FLUX.2 Klein 4B pipelines with random weights from their
published architecture configs (nothing is downloaded), saves them as diffusers folders and
runs `app.inference.api.generate` for each tier preset of models.toml (model, GGUF or folder
variant, dtype, offload, resolution, steps), emulating the tier's VRAM (`min_vram_gb`) with
`torch.cuda.set_per_process_memory_fraction`. GGUF variants run a Q8_0 file written from the
random folder (the bench cannot write K-quants; the label says so when the preset asks for one).

    python tests/bench/gpu_bench.py            # full size on CUDA; --tiny without CUDA
    python tests/bench/gpu_bench.py --tiny     # the cpu tier on tiny packs, < 1 min (keeps this script alive)
    python tests/bench/gpu_bench.py --tiers cuda-8gb,cuda-24gb
    python tests/bench/gpu_bench.py --fit      # no GPU, seconds: do each tier's weights fit its VRAM?

`--fit` builds every full-size model on the meta device (no memory, no weights), counts the
parameters and prints, per tier stage and per optional model, the GPU-resident weights under the
stage's offload mode against the tier's `min_vram_gb`. Weights only: activations, the CUDA context
and allocator slack must fit in the headroom (`FIT_HEADROOM_GIB`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch

from app.inference import packs
from app.inference.api import StagePlan, generate
from app.inference.manager import ModelManager
from app.models.catalog import load_catalog

# Published architectures (diffusers configs of Tongyi-MAI/Z-Image-Turbo and
# black-forest-labs/FLUX.2-klein-4B; Qwen3-4B text encoder; FLUX.1 / FLUX.2 VAEs).
QWEN3_4B = {
    "hidden_size": 2560,
    "intermediate_size": 9728,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
    "vocab_size": 151936,
}
FULL_VAE = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
}
Z_IMAGE_TURBO = {
    "transformer": {
        "all_patch_size": (2,),
        "all_f_patch_size": (1,),
        "in_channels": 16,
        "dim": 3840,
        "n_layers": 30,
        "n_refiner_layers": 2,
        "n_heads": 30,
        "n_kv_heads": 30,
        "norm_eps": 1e-5,
        "qk_norm": True,
        "cap_feat_dim": 2560,
        "rope_theta": 256.0,
        "t_scale": 1000.0,
        "axes_dims": [32, 48, 48],
        "axes_lens": [1536, 512, 512],
    },
    "text_encoder": QWEN3_4B,
    "vae": FULL_VAE,
}
FLUX2_KLEIN_4B = {
    "transformer": {
        "patch_size": 1,
        "in_channels": 128,
        "num_layers": 5,
        "num_single_layers": 20,
        "attention_head_dim": 128,
        "num_attention_heads": 24,
        "joint_attention_dim": 7680,
        "timestep_guidance_channels": 256,
        "mlp_ratio": 3.0,
        "axes_dims_rope": (32, 32, 32, 32),
        "rope_theta": 2000,
        "guidance_embeds": False,
    },
    "text_encoder": QWEN3_4B,
    "vae": FULL_VAE,
}
PACKS = {"z-image-turbo": "z_image", "flux2-klein-4b": "klein"}  # catalog model id -> pack the bench builds
_DTYPES = {"bf16": "bfloat16", "fp32": "float32"}
TINY_SIDE = 64


def build_full(workdir: Path, dtype: torch.dtype) -> dict[str, Path]:
    out = {}
    for name, make, arch in (
        ("z_image", packs.make_z_image, Z_IMAGE_TURBO),
        ("klein", packs.make_flux2_klein, FLUX2_KLEIN_4B),
    ):
        folder = workdir / name
        if not (folder / "model_index.json").is_file():
            t0 = time.monotonic()
            previous = torch.get_default_dtype()
            torch.set_default_dtype(dtype)  # initialise in the target dtype: half the RAM
            try:
                pipe = make(folder / "tokenizer", arch=arch)
            finally:
                torch.set_default_dtype(previous)
            pipe.to(dtype).save_pretrained(str(folder), safe_serialization=True)
            del pipe
            print(f"built {name} in {time.monotonic() - t0:.0f} s", flush=True)
        out[name] = folder
        out[name + "_gguf"] = workdir / f"{name}-Q8_0.gguf"  # written on first use by a GGUF tier
    return out


def peak_ram_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def run_case(manager, plan, image, label: str) -> None:
    if plan.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, notes = [], []
    for _ in range(2):  # cold (loads weights), warm (resident)
        t0 = time.monotonic()
        generate(
            manager,
            plan,
            prompt="an antique map of a coastal town",
            image=image,
            references=[image],
            strength=0.7,
            seed=1,
            notes=notes,
        )
        times.append(time.monotonic() - t0)
    vram = torch.cuda.max_memory_allocated() / 2**30 if plan.device == "cuda" else 0.0
    extra = f"  [{'; '.join(notes)}]" if notes else ""
    print(
        f"{label:<28} cold {times[0]:7.2f} s  warm {times[1]:7.2f} s  peak VRAM {vram:6.2f} GiB  "
        f"peak RAM {peak_ram_gib():6.2f} GiB{extra}",
        flush=True,
    )


def tier_names(catalog, device: str) -> list[str]:
    return [name for name, tier in catalog.tiers.items() if tier.device == device]


def stage_plan(catalog, preset, paths: dict[str, Path], device: str, side: int | None = None):
    """(StagePlan, label) for one stage preset of a tier, or (None, why) when the bench cannot build its model."""
    if not preset.enabled or not preset.model:
        return None, f"off: {preset.reason}"
    pack = PACKS.get(preset.model)
    if pack is None:
        return None, f"{preset.model} is not built by the bench"
    variant = catalog.models[preset.model].variants[preset.variant]
    gguf = variant.format == "gguf"
    side = side or preset.resolution
    plan = StagePlan(
        preset.stage,
        catalog.models[preset.model].family.replace("-", "_"),
        paths[pack],
        transformer_file=paths[pack + "_gguf"] if gguf else None,
        dtype=_DTYPES.get(preset.dtype, preset.dtype),
        offload=preset.offload,
        device=device,
        width=side,
        height=side,
        steps=preset.steps,
    )
    quant = variant.quant + (" (run as Q8_0)" if gguf and variant.quant.upper() != "Q8_0" else "")
    return plan, f"{preset.stage} {preset.model}:{quant} {preset.dtype} {preset.offload} {side}² {preset.steps} steps"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random packs, cpu tier (default without CUDA)")
    parser.add_argument("--fit", action="store_true", help="static weights-only VRAM check per tier (CPU, seconds)")
    parser.add_argument("--workdir", type=Path, help="where to keep the built packs (default: a temp dir)")
    parser.add_argument(
        "--tiers", default="", help="comma-separated tier names of models.toml (default: all CUDA tiers)"
    )
    args = parser.parse_args(argv)
    if args.fit:
        print_fit(load_catalog())
        return 0
    cuda = torch.cuda.is_available()
    tiny = args.tiny or not cuda
    device = "cuda" if cuda and not tiny else "cpu"
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="mapbrush-bench-") as tmp:
            return bench(Path(tmp), tiny, device, args.tiers)
    return bench(args.workdir, tiny, device, args.tiers)


def bench(workdir: Path, tiny: bool, device: str, tiers_arg: str) -> int:
    catalog = load_catalog()
    known = tier_names(catalog, "cpu" if tiny else "cuda")
    wanted = [t if t in catalog.tiers else f"cuda-{t}" for t in tiers_arg.split(",") if t] or known
    unknown = [t for t in wanted if t not in known]
    if unknown:
        print(f"unknown tier(s) {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    if tiny:
        built = packs.build_all(workdir)
        paths = {k: built[k] for k in ("z_image", "z_image_gguf", "klein", "klein_gguf")}
    else:
        paths = build_full(workdir, torch.bfloat16)
    print(f"device={device} torch={torch.__version__} packs={workdir}", flush=True)
    total = torch.cuda.get_device_properties(0).total_memory / 2**30 if device == "cuda" else 0
    rng = np.random.default_rng(0)
    for name in wanted:
        tier = catalog.tiers[name]
        if device == "cuda":
            vram = tier.min_vram_gb or total
            torch.cuda.set_per_process_memory_fraction(min(1.0, vram / total))
        manager = ModelManager()
        for preset in (tier.preview, tier.final):
            plan, label = stage_plan(catalog, preset, paths, device, TINY_SIDE if tiny else None)
            if plan is None:
                print(f"{name} {preset.stage}: {label}", flush=True)
                continue
            if plan.transformer_file is not None and not plan.transformer_file.is_file():
                write_gguf(plan)
            image = (rng.random((plan.height, plan.width, 3)) * 255).astype(np.uint8)
            run_case(manager, plan, image, f"{name} {label}")
            manager.unload()  # one model at a time, as on a small GPU
    return 0


def write_gguf(plan: StagePlan) -> None:
    t0 = time.monotonic()
    family = "z_image" if plan.family == "z_image" else "flux2"
    packs.write_gguf_transformer(plan.model_dir, plan.transformer_file, family=family)
    print(f"wrote {plan.transformer_file.name} in {time.monotonic() - t0:.0f} s", flush=True)


# --- --fit: a static, weights-only check that each tier's presets fit its VRAM ------------------
# Architectures of the optional final models; sources are cited in tests/inference/test_tier_fit.py.
QWEN3_8B = {  # Qwen/Qwen3-8B config.json (FLUX.2 klein 9B's text encoder): untied lm_head
    **QWEN3_4B,
    "hidden_size": 4096,
    "intermediate_size": 12288,
    "tie_word_embeddings": False,
}
FLUX2_KLEIN_9B = {  # diffusers scripts/convert_flux2_to_diffusers.py, model_type "klein-9b"
    "transformer": {
        **FLUX2_KLEIN_4B["transformer"],
        "num_layers": 8,
        "num_single_layers": 24,
        "num_attention_heads": 32,
        "joint_attention_dim": 12288,
    },
    "text_encoder": QWEN3_8B,
    "vae": FULL_VAE,
}
MISTRAL_SMALL_3 = {  # mistralai/Mistral-Small-3.1-24B-Instruct-2503 config.json (3.2-2506: same shapes)
    "text": {
        "hidden_size": 5120,
        "intermediate_size": 32768,
        "num_hidden_layers": 40,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "vocab_size": 131072,
    },
    "vision": {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "head_dim": 64,
        "patch_size": 14,
        "image_size": 1540,
    },
}
FLUX2_DEV = {  # convert_flux2_to_diffusers.py, model_type "flux2-dev" (guidance embedding: the default)
    "transformer": {
        **FLUX2_KLEIN_4B["transformer"],
        "num_layers": 8,
        "num_single_layers": 48,
        "num_attention_heads": 48,
        "joint_attention_dim": 15360,
        "guidance_embeds": True,
    },
    "text_encoder": MISTRAL_SMALL_3,
    "vae": FULL_VAE,
}
FIT_ARCHS = {  # catalog model id -> architecture; a model not listed here prints as "unknown"
    "z-image-turbo": Z_IMAGE_TURBO,
    "flux2-klein-4b": FLUX2_KLEIN_4B,
    "flux2-klein-9b": FLUX2_KLEIN_9B,
    "flux2-dev": FLUX2_DEV,
}
# Bits per weight of llama.cpp's GGUF block formats (ggml-common.h: Q8_0 = 34 bytes per 32 weights,
# Q5_0 = 22/32, Q4_0 = 18/32, Q5_K = 176/256, Q4_K = 144/256); the _M mixes keep some tensors in Q6_K.
GGUF_BPW = {"Q8_0": 8.5, "Q5_0": 5.5, "Q5_K_M": 5.5, "Q4_0": 4.5, "Q4_K_M": 4.85}
FIT_BYTES = {"bf16": 2, "fp32": 4}
FIT_HEADROOM_GIB = 1.5  # activations (SDPA: linear in tokens), CUDA context, allocator slack: not estimated
FIT_LEAF_CONST_GIB = 0.25  # group/sequential: RoPE tables and other buffers, hooks' bookkeeping
OFFLOAD_ORDER = ("none", "model", "group", "sequential")
GIB = 2**30


@dataclass(frozen=True)
class Weights:
    """Parameter counts of one component."""

    params: int
    linear: int  # in 2-D nn.Linear weights: what a GGUF file quantises
    leaves: tuple[tuple[int, int], ...]  # (params, linear params) of each leaf module holding parameters


@dataclass(frozen=True)
class Part:
    """One component's GPU weights in GiB under a variant and dtype."""

    total: float
    leaf: float  # largest leaf module plus the parameters held by non-leaf modules (onloaded with them)
    dequant: float = 0.0  # GGUF: the largest linear dequantised to the compute dtype during its forward


def _weights(module: torch.nn.Module) -> Weights:
    leaves = []
    for m in module.modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if own and next(m.children(), None) is None:
            lin = m.weight.numel() if isinstance(m, torch.nn.Linear) and m.weight.ndim == 2 else 0
            leaves.append((own, lin))
    total = sum(p.numel() for p in module.parameters())
    return Weights(total, sum(q for _, q in leaves), tuple(leaves))


@functools.cache
def model_weights(model_id: str) -> dict[str, Weights] | None:
    """Parameter counts of a catalog model's full-size components, built on the meta device (nothing is
    allocated, nothing downloaded). "z-image-turbo-controlnet" gives {"controlnet": ...}; None: unknown."""
    from diffusers import Flux2Transformer2DModel, ZImageControlNetModel, ZImageTransformer2DModel

    from app.inference.packs_flux2_dev import _mistral3

    arch = FIT_ARCHS.get(model_id)
    with torch.device("meta"):
        if model_id == "z-image-turbo-controlnet":  # the app's own copy of the Union 2.1 config
            config = json.loads((Path(packs.__file__).parent / "configs/ZImageControlNetModel/config.json").read_text())
            parts = {"controlnet": ZImageControlNetModel(**{k: v for k, v in config.items() if k[0] != "_"})}
        elif arch is None:
            return None
        elif model_id == "z-image-turbo":
            parts = {
                "transformer": ZImageTransformer2DModel(**arch["transformer"]),
                "text_encoder": packs._qwen3("Qwen3Model", 0, arch["text_encoder"]),
                "vae": packs._vae_kl(arch["vae"]),
            }
        else:
            te = arch["text_encoder"]
            parts = {
                "transformer": Flux2Transformer2DModel(**arch["transformer"]),
                "text_encoder": _mistral3(te["text"]["vocab_size"], 10, te)
                if "text" in te
                else packs._qwen3("Qwen3ForCausalLM", 0, te),
                "vae": packs._vae_flux2(arch["vae"]),
            }
    return {name: _weights(m) for name, m in parts.items()}


def component_gib(w: Weights, dtype: str, bpw: float | None = None) -> Part:
    """GiB of one component at `dtype`; `bpw` quantises its 2-D linear weights (GGUF), the rest stays at dtype."""
    b = FIT_BYTES[dtype]

    def gib(params: int, linear: int) -> float:
        return ((params - linear) * b + linear * (bpw / 8 if bpw else b)) / GIB

    other = gib(w.params - sum(p for p, _ in w.leaves), 0)
    dequant = max(q for _, q in w.leaves) * b / GIB if bpw else 0.0
    return Part(gib(w.params, w.linear), max(gib(p, q) for p, q in w.leaves) + other, dequant)


def stage_weights(catalog, model_id: str, variant_id: str, dtype: str = "bf16", controlnet: bool = False):
    """{component: Part} of a model:variant (plus its ControlNet when asked), or None for an unknown model.
    A GGUF variant quantises the transformer only; where the catalog knows the file's size and it is
    larger than the bits-per-weight estimate (community files keep some tensors in higher precision),
    the file size counts."""
    weights = model_weights(model_id)
    if weights is None:
        return None
    variant = catalog.models[model_id].variants[variant_id]
    parts = {}
    for name, w in weights.items():
        bpw = GGUF_BPW[variant.quant.upper()] if variant.format == "gguf" and name == "transformer" else None
        part = component_gib(w, dtype, bpw)
        if bpw and variant.size_gb:
            part = Part(max(part.total, variant.size_gb * 1e9 / GIB), part.leaf, part.dequant)
        parts[name] = part
    cn = catalog.controlnet_for(model_id) if controlnet else None
    if cn is not None:
        parts["controlnet"] = component_gib(model_weights(cn.id)["controlnet"], dtype)
    return parts


def resident_gib(parts: dict[str, Part], offload: str) -> float:
    """Peak GPU-resident weights (GiB) of a pipeline under a diffusers offload mode.

    none: every component. model (enable_model_cpu_offload): one model of text_encoder->transformer->vae
    at a time, but a model stays until the next in the chain runs, so the VAE (reference/init image
    encode) sits beside the text encoder, and the ControlNet (outside the chain) beside the transformer.
    group (leaf_level, use_stream): the running leaf plus the prefetched one, at most twice the largest.
    sequential: the running leaf. Both: plus FIT_LEAF_CONST_GIB. GGUF adds one dequantised linear."""

    def size(name: str) -> float:
        return parts[name].total if name in parts else 0.0

    leaf = max(p.leaf for p in parts.values())
    weights = {
        "none": sum(p.total for p in parts.values()),
        "model": max(size("text_encoder") + size("vae"), size("transformer") + size("controlnet") + size("vae")),
        "group": 2 * leaf + FIT_LEAF_CONST_GIB,
        "sequential": leaf + FIT_LEAF_CONST_GIB,
    }[offload]
    return weights + max(p.dequant for p in parts.values())


def fit_verdict(resident: float | None, vram: float, headroom: float = FIT_HEADROOM_GIB) -> str:
    if resident is None:
        return "unknown"
    return "OK" if resident + headroom <= vram else "TIGHT" if resident <= vram else "NO"


@dataclass(frozen=True)
class FitRow:
    tier: str
    stage: str
    ref: str  # model:variant
    offload: str
    vram: float  # the tier's min_vram_gb (GiB)
    resident: float | None  # GiB at the preset's dtype; None: architecture unknown
    fp32: float | None  # GiB when the GPU lacks bf16 and app/models/tiers.py falls back to fp32
    optional: bool = False
    fits_with: str = ""  # the least offloading that is OK, when the preset's mode is not

    @property
    def verdict(self) -> str:
        return fit_verdict(self.resident, self.vram)


def fit_rows(catalog) -> list[FitRow]:
    """One row per enabled stage of every CUDA tier, then one per optional model (with the stage's settings)."""
    rows = []
    for tier in catalog.tiers.values():
        if tier.device != "cuda":
            continue
        for preset in (tier.preview, tier.final):
            if not preset.enabled:
                continue
            refs = [(f"{preset.model}:{preset.variant}", False)] + [(r, True) for r in preset.optional]
            for ref, optional in refs:
                model_id, _, variant_id = ref.partition(":")
                args = (catalog, model_id, variant_id)
                parts = stage_weights(*args, preset.dtype, controlnet=preset.controlnet)
                fp32 = stage_weights(*args, "fp32", controlnet=preset.controlnet)
                resident = None if parts is None else resident_gib(parts, preset.offload)
                better = [
                    m for m in OFFLOAD_ORDER if parts and fit_verdict(resident_gib(parts, m), tier.min_vram_gb) == "OK"
                ]
                fits_with = better[0] if better and fit_verdict(resident, tier.min_vram_gb) != "OK" else ""
                rows.append(
                    FitRow(
                        tier.name,
                        preset.stage,
                        ref,
                        preset.offload,
                        tier.min_vram_gb,
                        resident,
                        None if fp32 is None else resident_gib(fp32, preset.offload),
                        optional,
                        fits_with,
                    )
                )
    return rows


def print_fit(catalog) -> None:
    print("Full-size parameter counts (meta device, published configs), billions:")
    for model_id in [*FIT_ARCHS, "z-image-turbo-controlnet"]:
        weights = model_weights(model_id)
        counts = "  ".join(f"{name} {w.params / 1e9:.3f}" for name, w in weights.items())
        print(f"  {model_id:<26} {counts}")
    for model_id, entry in catalog.models.items():
        if model_weights(model_id) is None and entry.role != "controlnet":
            print(f"  {model_id:<26} unknown (no sourced architecture)")
    head = f"{'tier':<11}{'stage':<9}{'model:variant':<26}{'offload':<12}{'weights':>8}{'min_vram':>9}  {'verdict':<8}"
    print(f"\nResident GPU weights per tier stage, GiB (OK: weights + {FIT_HEADROOM_GIB} GiB headroom <= min_vram):")
    print(head + f"{'fp32 fallback':>14}")
    for r in fit_rows(catalog):
        ref = ("+ " if r.optional else "") + r.ref
        weights = "unknown" if r.resident is None else f"{r.resident:.2f}"
        fp32 = "" if r.fp32 is None else f"{r.fp32:6.2f} {fit_verdict(r.fp32, r.vram)}"
        hint = f"  (OK with offload={r.fits_with})" if r.fits_with else ""
        print(
            f"{r.tier:<11}{r.stage:<9}{ref:<26}{r.offload:<12}{weights:>8}{r.vram:>9.1f}  {r.verdict:<8}{fp32:>14}{hint}"
        )
    print(
        f"\nWeights only; activations, the CUDA context and allocator slack must fit in the {FIT_HEADROOM_GIB} GiB "
        "headroom (TIGHT: the weights fit, the headroom does not).\n'+' rows: optional models, run with the "
        "stage's dtype and offload. GGUF: the transformer's 2-D linear weights at llama.cpp block sizes "
        f"{GGUF_BPW} bits/weight, or the file size where models.toml gives a larger one; the rest at the "
        f"dtype.\ngroup = 2 x largest leaf module, sequential = 1 x, each + {FIT_LEAF_CONST_GIB} GiB (see resident_gib)."
    )


if __name__ == "__main__":
    raise SystemExit(main())
