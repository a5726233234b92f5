"""Tiny random-weight model packs in the exact on-disk layout of the real repositories.

Used by the tests and by `tests/bench/gpu_bench.py`. Nothing here downloads anything: the
configs are written from the published architectures (shrunk), the tokenizer is a byte-level
BPE built locally, and the weights are random. A pack is a few MB and builds in about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from app.inference import gguf_io

# --- tiny architecture configs (same classes and keys as the real repos, small numbers) ----

TINY_QWEN3 = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 28,  # FLUX.2 Klein reads hidden states 9, 18 and 27
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 8,
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
}
TINY_VAE_BLOCKS = (8, 16, 16, 16)  # four blocks -> scale factor 8, like the real VAEs
TINY_Z_IMAGE = {
    "all_patch_size": (2,),
    "all_f_patch_size": (1,),
    "in_channels": 16,
    "dim": 256,  # rows of 256 fill whole K-quant blocks, as the real model's 3840 do
    "n_layers": 2,
    "n_refiner_layers": 1,
    "n_heads": 16,
    "n_kv_heads": 16,
    "cap_feat_dim": TINY_QWEN3["hidden_size"],
    "axes_dims": [8, 4, 4],
    "axes_lens": [1536, 512, 512],
}
TINY_CONTROLNET = {  # ControlNet Union 2.1 layout, shrunk
    "control_layers_places": [0, 1],
    "control_refiner_layers_places": [0],
    "add_control_noise_refiner": "control_noise_refiner",
    "control_in_dim": 33,
    "dim": TINY_Z_IMAGE["dim"],
    "n_refiner_layers": 1,
    "n_heads": TINY_Z_IMAGE["n_heads"],
    "n_kv_heads": TINY_Z_IMAGE["n_kv_heads"],
}
TINY_FLUX2 = {
    "patch_size": 1,
    "in_channels": 128,
    "num_layers": 1,
    "num_single_layers": 1,
    "attention_head_dim": 16,
    "num_attention_heads": 16,  # inner dim 256: whole K-quant blocks
    "joint_attention_dim": 3 * TINY_QWEN3["hidden_size"],
    "timestep_guidance_channels": 32,
    "mlp_ratio": 3.0,
    "axes_dims_rope": (4, 4, 4, 4),
    "rope_theta": 2000,
    "guidance_embeds": False,
}
Z_IMAGE_SCHEDULER = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": False}
FLUX2_SCHEDULER = {
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
    "base_shift": 0.5,
    "max_shift": 1.15,
    "base_image_seq_len": 256,
    "max_image_seq_len": 4096,
    "time_shift_type": "exponential",
}

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}"
    "{% endif %}"
)


def _seed(seed: int) -> None:
    torch.manual_seed(seed)


def write_tokenizer(folder: Path) -> int:
    """A byte-level BPE tokenizer (no merges) that Qwen2Tokenizer(Fast) loads. Returns the vocab size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIAL_TOKENS)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "model_max_length": 131072,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "bos_token": None,
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "chat_template": CHAT_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return tok.get_vocab_size()


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def _qwen3(cls_name: str, vocab_size: int, arch: dict | None = None):
    import transformers

    arch = dict(arch or TINY_QWEN3)
    arch.setdefault("vocab_size", vocab_size)
    config = transformers.Qwen3Config(**arch)
    return getattr(transformers, cls_name)(config).eval()


def _vae_blocks(blocks: tuple[int, ...], layers: int, groups: int) -> dict:
    n = len(blocks)
    return {
        "block_out_channels": blocks,
        "down_block_types": ("DownEncoderBlock2D",) * n,
        "up_block_types": ("UpDecoderBlock2D",) * n,
        "layers_per_block": layers,
        "norm_num_groups": groups,
    }


TINY_VAE = _vae_blocks(TINY_VAE_BLOCKS, 1, 8)


def _vae_kl(arch: dict | None = None):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        **(arch or TINY_VAE),
        latent_channels=16,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def _vae_flux2(arch: dict | None = None):
    from diffusers import AutoencoderKLFlux2

    return AutoencoderKLFlux2(**(arch or TINY_VAE), latent_channels=32)


def make_z_image(tokenizer_dir: Path, *, arch: dict | None = None, seed: int = 0):
    """A ZImagePipeline with random weights (in memory). `arch`: {"transformer", "text_encoder", "vae"} configs."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel

    arch = arch or {}
    _seed(seed)
    vocab = write_tokenizer(tokenizer_dir)
    pipe = ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**Z_IMAGE_SCHEDULER),
        vae=_vae_kl(arch.get("vae")),
        text_encoder=_qwen3("Qwen3Model", vocab, arch.get("text_encoder")),
        tokenizer=_load_tokenizer(tokenizer_dir),
        transformer=ZImageTransformer2DModel(**arch.get("transformer", TINY_Z_IMAGE)),
    )
    _randomize_zero_inits(pipe.transformer)
    return pipe


def make_flux2_klein(tokenizer_dir: Path, *, arch: dict | None = None, seed: int = 0):
    """A distilled Flux2KleinPipeline with random weights (in memory)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline, Flux2Transformer2DModel

    arch = arch or {}
    _seed(seed)
    vocab = write_tokenizer(tokenizer_dir)
    pipe = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**FLUX2_SCHEDULER),
        vae=_vae_flux2(arch.get("vae")),
        text_encoder=_qwen3("Qwen3ForCausalLM", vocab, arch.get("text_encoder")),
        tokenizer=_load_tokenizer(tokenizer_dir),
        transformer=Flux2Transformer2DModel(**arch.get("transformer", TINY_FLUX2)),
        is_distilled=True,
    )
    _randomize_zero_inits(pipe.transformer)
    return pipe


def build_z_image(folder: Path, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Path:
    """A Z-Image-Turbo diffusers folder (ZImagePipeline layout)."""
    pipe = make_z_image(folder / "tokenizer", seed=seed).to(dtype)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def build_flux2_klein(folder: Path, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Path:
    """A FLUX.2 Klein 4B diffusers folder (Flux2KleinPipeline layout, distilled)."""
    pipe = make_flux2_klein(folder / "tokenizer", seed=seed).to(dtype)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def build_z_image_controlnet(folder: Path, *, seed: int = 0) -> Path:
    """A ZImageControlNetModel as one safetensors file (plus its config.json), like Union 2.1."""
    from diffusers import ZImageControlNetModel
    from safetensors.torch import save_file

    _seed(seed)
    model = ZImageControlNetModel(**TINY_CONTROLNET)
    _randomize_zero_inits(model)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_config(str(folder))
    path = folder / "Z-Image-Turbo-Fun-Controlnet-Union-2.1.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def _randomize_zero_inits(model: torch.nn.Module) -> None:
    """Zero-initialised output layers would make every image identical grey; give them small noise."""
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 1 and not p.any():
                p.normal_(0.0, 0.02)


def write_gguf_transformer(
    model_dir: Path,
    out: Path,
    *,
    quant: str = "Q8_0",
    split_qkv: bool = False,
    family: str = "z_image",
    prefix: str = "",
    pad_tokens_1d: bool = False,
) -> Path:
    """The pack's transformer as a community GGUF file, written as city96's ComfyUI-GGUF tools write them.

    Keys are the original (ComfyUI-style) names that diffusers' `from_single_file` converts;
    `quant` is the file's mix (Q8_0, Q5_K_M, Q4_K_M; see `gguf_io.write_gguf`).
    `split_qkv=True` writes the attention as separate q/k/v tensors, as some community files do;
    `prefix="model.diffusion_model."` writes the keys as ComfyUI saves them; `pad_tokens_1d=True`
    stores Z-Image's pad tokens as `[dim]` F32 instead of `[1, dim]` BF16.
    """
    from safetensors.torch import load_file

    weights = {}
    for f in sorted((model_dir / "transformer").glob("*.safetensors")):
        weights.update(load_file(str(f)))
    if family == "z_image":
        original = gguf_io.z_image_to_original(weights, split_qkv=split_qkv, pad_tokens_1d=pad_tokens_1d)
    elif family == "flux2":
        original = gguf_io.flux2_to_original(weights)
    else:
        raise ValueError(f"unknown family {family!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    gguf_io.write_gguf(out, {prefix + k: v for k, v in original.items()}, family=family, quant=quant)
    return out


def build_all(root: Path) -> dict[str, Path]:
    """Every pack the tests use, under `root`. Returns name -> path."""
    from diffusers.utils import logging as dlog

    root.mkdir(parents=True, exist_ok=True)
    level = dlog.get_verbosity()
    dlog.set_verbosity_error()
    try:
        return _build_all(root)
    finally:
        dlog.set_verbosity(level)


def _build_all(root: Path) -> dict[str, Path]:
    z = build_z_image(root / "Z-Image-Turbo")
    z16 = build_z_image(root / "Z-Image-Turbo-bf16", dtype=torch.bfloat16)
    k = build_flux2_klein(root / "FLUX.2-klein-4B")
    from app.inference.packs_flux2_dev import build_flux2_dev

    dev = build_flux2_dev(root / "FLUX.2-dev")
    cn = build_z_image_controlnet(root / "Z-Image-Turbo-Fun-Controlnet-Union-2.1")
    return {
        "z_image": z,
        "z_image_bf16": z16,
        "klein": k,
        "controlnet": cn,
        "flux2_dev": dev,
        "flux2_dev_gguf": write_gguf_transformer(
            dev, root / "flux2_dev_Q8_0.gguf", family="flux2", prefix=gguf_io.COMFY_PREFIX
        ),
        "z_image_gguf": write_gguf_transformer(z, root / "z_image_turbo-Q8_0.gguf"),
        "z_image_gguf_q4_k_m": write_gguf_transformer(z, root / "z_image_turbo-Q4_K_M.gguf", quant="Q4_K_M"),
        "z_image_gguf_q5_k_m_comfy": write_gguf_transformer(
            z, root / "z_image_turbo-comfy-Q5_K_M.gguf", quant="Q5_K_M", prefix=gguf_io.COMFY_PREFIX
        ),
        "z_image_gguf_split": write_gguf_transformer(
            z, root / "z_image_turbo_split-Q8_0.gguf", split_qkv=True, pad_tokens_1d=True
        ),
        "klein_gguf": write_gguf_transformer(k, root / "flux-2-klein-4b-Q8_0.gguf", family="flux2"),
        "klein_gguf_q4_k_m": write_gguf_transformer(
            k, root / "flux-2-klein-4b-Q4_K_M.gguf", family="flux2", quant="Q4_K_M"
        ),
        "klein_gguf_comfy": write_gguf_transformer(
            k, root / "flux-2-klein-4b-comfy-Q8_0.gguf", family="flux2", prefix=gguf_io.COMFY_PREFIX
        ),
    }
