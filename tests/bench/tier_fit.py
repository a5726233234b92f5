"""Static, weights-only check that each GPU tier of models.toml fits its VRAM (`min_vram_gb`).

Builds every full-size model on the meta device (no memory, no weights, nothing downloaded), counts the
parameters and prints, per tier stage and per optional model, the GPU-resident weights under the offload
the app uses against the tier's `min_vram_gb`, then the same for the fp32 fallback of GPUs without bf16.
Weights only: activations, the CUDA context and allocator slack must fit in the headroom (`FIT_HEADROOM_GIB`).
Also holds the published architectures that gpu_bench.py builds at full size.

    python tests/bench/tier_fit.py        # CPU, seconds; the same as `python tests/bench/gpu_bench.py --fit`
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch

from app.inference import packs
from app.models.catalog import load_catalog
from app.models.tiers import MORE_OFFLOAD

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
                "text_encoder": _mistral3_untied(te) if "text" in te else packs._qwen3("Qwen3ForCausalLM", 0, te),
                "vae": packs._vae_flux2(arch["vae"]),
            }
    return {name: _weights(m) for name, m in parts.items()}


def _mistral3_untied(arch: dict) -> torch.nn.Module:
    """Mistral3ForConditionalGeneration as packs_flux2_dev builds it, but with its own lm_head: transformers 5
    ties it to the embeddings unless told not to, and Mistral Small's checkpoint holds both."""
    import transformers

    text = {"model_type": "mistral", "tie_word_embeddings": False, **arch["text"]}
    config = transformers.Mistral3Config(
        text_config=text,
        vision_config={"model_type": "pixtral", **arch["vision"]},
        image_token_index=10,
        spatial_merge_size=2,
        tie_word_embeddings=False,
    )
    return transformers.Mistral3ForConditionalGeneration(config)


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


def least_ok(parts: dict[str, Part] | None, vram: float, offload: str) -> str:
    """The least offloading under which `parts` fit `vram` with headroom, when `offload` does not ("" else)."""
    fits = [m for m in OFFLOAD_ORDER if parts and fit_verdict(resident_gib(parts, m), vram) == "OK"]
    return "" if offload in fits else next(iter(fits), "")


def offloads_for(preset, optional=None) -> tuple[str, str]:
    """(offload, fp32-fallback offload) the app runs the stage's model, or an optional one, with: the stage's
    offload, raised to the optional's own `@offload` (app/jobs/ai.py `_offload_for`). On a GPU without bf16,
    app/models/tiers.py raises the stage's offload and each optional's own `@offload` one step (MORE_OFFLOAD),
    then the same maximum applies."""
    own = optional.offload if optional is not None else None

    def most(offload: str, upgrade: str | None) -> str:
        return max(offload, upgrade or offload, key=OFFLOAD_ORDER.index)

    if preset.dtype != "bf16":
        return most(preset.offload, own), most(preset.offload, own)
    return most(preset.offload, own), most(MORE_OFFLOAD[preset.offload], own and MORE_OFFLOAD[own])


@dataclass(frozen=True)
class FitRow:
    tier: str
    stage: str
    ref: str  # model:variant
    vram: float  # the tier's min_vram_gb (GiB)
    optional: bool  # one of the stage's optional models
    offload: str  # the offload the app uses for this model (an optional's own @offload raises the stage's)
    resident: float | None  # GiB at the preset's dtype; None: architecture unknown
    fits_with: str  # the least offloading that is OK, when `offload` is not
    fp32_offload: str  # without bf16: app/models/tiers.py's MORE_OFFLOAD of the stage's, then the optional's own
    fp32: float | None  # GiB at fp32 under fp32_offload
    fp32_fits_with: str

    @property
    def verdict(self) -> str:
        return fit_verdict(self.resident, self.vram)

    @property
    def fp32_verdict(self) -> str:
        return fit_verdict(self.fp32, self.vram)


def fit_rows(catalog) -> list[FitRow]:
    """One row per enabled stage of every CUDA tier, then one per optional model: at the stage's dtype under
    the offload of offloads_for, then at fp32 under its fp32 offload."""
    rows = []
    for tier in catalog.tiers.values():
        for preset in (tier.preview, tier.final) if tier.device == "cuda" else ():
            for opt in (None, *preset.optional) if preset.enabled else ():
                model_id, variant_id = (preset.model, preset.variant) if opt is None else (opt.model, opt.variant)
                cols = []
                for dtype, mode in zip((preset.dtype, "fp32"), offloads_for(preset, opt)):
                    parts = stage_weights(catalog, model_id, variant_id, dtype, controlnet=preset.controlnet)
                    resident = None if parts is None else resident_gib(parts, mode)
                    cols += [mode, resident, least_ok(parts, tier.min_vram_gb, mode)]
                ref = f"{model_id}:{variant_id}"
                rows.append(FitRow(tier.name, preset.stage, ref, tier.min_vram_gb, opt is not None, *cols))
    return rows


def print_fit(catalog) -> None:
    print("Full-size parameter counts (meta device, published configs), billions:")
    for model_id in [*FIT_ARCHS, "z-image-turbo-controlnet"]:
        counts = "  ".join(f"{name} {w.params / 1e9:.3f}" for name, w in model_weights(model_id).items())
        print(f"  {model_id:<26} {counts}")
    for model_id, entry in catalog.models.items():
        if model_weights(model_id) is None and entry.role != "controlnet":
            print(f"  {model_id:<26} unknown (no sourced architecture)")
    print(f"\nResident GPU weights per tier stage, GiB (OK: weights + {FIT_HEADROOM_GIB} GiB headroom <= min_vram):")
    head = f"{'tier':<11}{'stage':<9}{'model:variant':<26}{'offload':<12}{'weights':>8}{'min_vram':>9}  {'verdict':<8}"
    print(f"{head}  fp32 fallback: offload, weights, verdict")
    for r in fit_rows(catalog):
        ref = ("+ " if r.optional else "") + r.ref
        weights = "unknown" if r.resident is None else f"{r.resident:.2f}"
        fp32 = "" if r.fp32 is None else f"{r.fp32_offload:<11}{r.fp32:7.2f}  {r.fp32_verdict}"
        hint = f"  (OK with offload={r.fits_with})" if r.fits_with else ""
        hint += f"  (fp32: OK with offload={r.fp32_fits_with})" if r.fp32_fits_with else ""
        cols = f"{r.tier:<11}{r.stage:<9}{ref:<26}{r.offload:<12}{weights:>8}{r.vram:>9.1f}  {r.verdict:<8}"
        print(f"{cols}  {fp32}{hint}")
    bpw = ", ".join(f"{k} {v}" for k, v in GGUF_BPW.items())
    print(
        f"\nWeights only: activations, the CUDA context and allocator slack must fit in the {FIT_HEADROOM_GIB} GiB"
        " headroom (TIGHT: the weights fit, the headroom does not; NO: the weights alone do not fit).\n"
        "'+' rows: optional models, at the stage's dtype; their offload is the more of the stage's and their own"
        " (models.toml 'model:variant@offload').\n'fp32 fallback': a GPU without bf16 (compute capability < 8.0),"
        " where app/models/tiers.py switches to fp32 and raises the stage's and each upgrade's offload one step\n"
        "(MORE_OFFLOAD).\n"
        f"GGUF: the transformer's 2-D linear weights at llama.cpp block sizes ({bpw} bits/weight), or the file"
        " size where models.toml gives a larger one; everything else at the stage's dtype.\n"
        f"model offload: max(text encoder + VAE, transformer + ControlNet + VAE); group: 2 x the largest leaf"
        f" module; sequential: 1 x; both + {FIT_LEAF_CONST_GIB} GiB (see resident_gib)."
    )


if __name__ == "__main__":
    print_fit(load_catalog())
