"""GGUF transformer files: read them into a state dict diffusers' converters accept, and write them.

Reading: community GGUFs of Z-Image come in two key layouts. The ComfyUI layout with a fused
`attention.qkv` is what `diffusers.loaders.single_file_utils` converts; files whose attention is
already split into q/k/v (and files whose pad tokens lost their leading dimension) are not, so
`normalize_z_image` fixes both before the state dict is handed to `from_single_file`.
FLUX.2 files saved by ComfyUI carry a `model.diffusion_model.` prefix that diffusers' FLUX.2
converter does not strip (it fails with `UnboundLocalError: new_q_name`); `normalize_flux2` strips it.
Writing (packs, tests, bench): the inverse of diffusers' converters, so a pack's GGUF goes
through the real conversion code when loaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

_SPLIT_ATTENTION = re.compile(r"^(.*\.attention)\.(q|k|v|wq|wk|wv|to_q|to_k|to_v|q_proj|k_proj|v_proj)\.(weight|bias)$")
_PAD_TOKENS = ("x_pad_token", "cap_pad_token", "siglip_pad_token")
COMFY_PREFIX = "model.diffusion_model."
_COMFY_PREFIXES = (COMFY_PREFIX, "diffusion_model.")


def read_gguf(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a GGUF file: quantized ones as diffusers GGUFParameter, F32/F16 as tensors."""
    from diffusers.models.model_loading_utils import load_gguf_checkpoint

    return load_gguf_checkpoint(str(path))


def is_split_qkv(state: dict[str, torch.Tensor]) -> bool:
    return any(_SPLIT_ATTENTION.match(k) for k in state)


def normalize_z_image(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Make a Z-Image GGUF state dict safe for `convert_z_image_transformer_checkpoint_to_diffusers`.

    Split q/k/v keys are renamed to the diffusers names the converter leaves alone
    (`attention.to_q.weight`, ...); pad tokens stored as `[dim]` get back their `[1, dim]` shape.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = strip_prefix(key)
        m = _SPLIT_ATTENTION.match(name)
        if m:
            which = m.group(2).removeprefix("w").removeprefix("to_").removesuffix("_proj")
            name = f"{m.group(1)}.to_{which}.{m.group(3)}"
        if name.endswith(_PAD_TOKENS) and value.ndim == 1:
            value = _unsqueeze(value)
        out[name] = value
    return out


def strip_prefix(key: str) -> str:
    """`model.diffusion_model.double_blocks.0...` (ComfyUI) -> `double_blocks.0...`."""
    for prefix in _COMFY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def normalize_flux2(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Make a FLUX.2 (Klein or Dev) state dict safe for `convert_flux2_transformer_checkpoint_to_diffusers`."""
    out = {strip_prefix(k): v for k, v in state.items()}
    if len(out) != len(state):
        raise ValueError("the file holds the same tensor with and without the model.diffusion_model. prefix")
    return out


def _unsqueeze(value: torch.Tensor) -> torch.Tensor:
    from diffusers.quantizers.gguf.utils import GGUFParameter, dequantize_gguf_tensor

    if isinstance(value, GGUFParameter):
        value = dequantize_gguf_tensor(value)
    return value.reshape(1, -1).contiguous()


# --- writing ------------------------------------------------------------------------------


def _fuse(weights: dict[str, torch.Tensor], names: list[str]) -> torch.Tensor:
    return torch.cat([weights.pop(n) for n in names], dim=0)


def z_image_to_original(weights: dict[str, torch.Tensor], *, split_qkv: bool = False) -> dict[str, torch.Tensor]:
    """diffusers ZImageTransformer2DModel keys -> ComfyUI/original keys (inverse of diffusers' converter)."""
    weights = dict(weights)
    out: dict[str, torch.Tensor] = {}
    for key in [k for k in weights if k.endswith(".attention.to_q.weight")]:
        stem = key.removesuffix(".to_q.weight")
        names = [f"{stem}.to_{c}.weight" for c in "qkv"]
        if split_qkv:
            for c, n in zip("qkv", names):
                out[f"{stem}.{c}.weight"] = weights.pop(n)
        else:
            out[f"{stem}.qkv.weight"] = _fuse(weights, names)
    renames = [
        ("all_x_embedder.2-1.", "x_embedder."),
        ("all_final_layer.2-1.", "final_layer."),
        (".attention.to_out.0.", ".attention.out."),
        (".attention.norm_q.", ".attention.q_norm."),
        (".attention.norm_k.", ".attention.k_norm."),
    ]
    for key, value in weights.items():
        for old, new in renames:
            key = key.replace(old, new)
        if key.endswith(_PAD_TOKENS):
            value = value.reshape(-1)  # community GGUFs store the pad tokens as [dim]
        out[key] = value
    return out


def _swap_scale_shift(w: torch.Tensor) -> torch.Tensor:
    scale, shift = w.chunk(2, dim=0)
    return torch.cat([shift, scale], dim=0)


_FLUX2_DOUBLE = {
    "attn.norm_q.weight": "img_attn.norm.query_norm.scale",
    "attn.norm_k.weight": "img_attn.norm.key_norm.scale",
    "attn.to_out.0.weight": "img_attn.proj.weight",
    "ff.linear_in.weight": "img_mlp.0.weight",
    "ff.linear_out.weight": "img_mlp.2.weight",
    "attn.norm_added_q.weight": "txt_attn.norm.query_norm.scale",
    "attn.norm_added_k.weight": "txt_attn.norm.key_norm.scale",
    "attn.to_add_out.weight": "txt_attn.proj.weight",
    "ff_context.linear_in.weight": "txt_mlp.0.weight",
    "ff_context.linear_out.weight": "txt_mlp.2.weight",
}
_FLUX2_SINGLE = {
    "attn.to_qkv_mlp_proj.weight": "linear1.weight",
    "attn.to_out.weight": "linear2.weight",
    "attn.norm_q.weight": "norm.query_norm.scale",
    "attn.norm_k.weight": "norm.key_norm.scale",
}
_FLUX2_TOP = {
    "x_embedder.weight": "img_in.weight",
    "context_embedder.weight": "txt_in.weight",
    "time_guidance_embed.timestep_embedder.linear_1.weight": "time_in.in_layer.weight",
    "time_guidance_embed.timestep_embedder.linear_2.weight": "time_in.out_layer.weight",
    "time_guidance_embed.guidance_embedder.linear_1.weight": "guidance_in.in_layer.weight",  # Dev only
    "time_guidance_embed.guidance_embedder.linear_2.weight": "guidance_in.out_layer.weight",
    "double_stream_modulation_img.linear.weight": "double_stream_modulation_img.lin.weight",
    "double_stream_modulation_txt.linear.weight": "double_stream_modulation_txt.lin.weight",
    "single_stream_modulation.linear.weight": "single_stream_modulation.lin.weight",
    "proj_out.weight": "final_layer.linear.weight",
}


def flux2_to_original(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers Flux2Transformer2DModel keys -> BFL original keys (inverse of diffusers' converter)."""
    weights = dict(weights)
    out: dict[str, torch.Tensor] = {}
    for key in [k for k in weights if k.endswith(".attn.to_q.weight") and k.startswith("transformer_blocks.")]:
        n = key.split(".")[1]
        p = f"transformer_blocks.{n}.attn"
        out[f"double_blocks.{n}.img_attn.qkv.weight"] = _fuse(weights, [f"{p}.to_{c}.weight" for c in "qkv"])
        out[f"double_blocks.{n}.txt_attn.qkv.weight"] = _fuse(weights, [f"{p}.add_{c}_proj.weight" for c in "qkv"])
    for key, value in weights.items():
        if key == "norm_out.linear.weight":
            out["final_layer.adaLN_modulation.1.weight"] = _swap_scale_shift(value)
        elif key in _FLUX2_TOP:
            out[_FLUX2_TOP[key]] = value
        elif key.startswith("transformer_blocks."):
            _, n, rest = key.split(".", 2)
            out[f"double_blocks.{n}.{_FLUX2_DOUBLE[rest]}"] = value
        elif key.startswith("single_transformer_blocks."):
            _, n, rest = key.split(".", 2)
            out[f"single_blocks.{n}.{_FLUX2_SINGLE[rest]}"] = value
        else:
            raise KeyError(f"no original name for {key}")
    return out


def write_gguf(path: Path, tensors: dict[str, torch.Tensor], *, arch: str) -> Path:
    """Write tensors as GGUF: 2-D weights whose rows fit Q8_0 blocks quantized, the rest F32/F16."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch=arch)
    q8 = gguf.GGMLQuantizationType.Q8_0
    block = gguf.GGML_QUANT_SIZES[q8][0]
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).cpu().numpy()
        is_norm = "norm" in name or name.endswith(("scale", "bias")) or data.ndim < 2
        if not is_norm and data.shape[-1] % block == 0:
            writer.add_tensor(name, gguf.quants.quantize(data, q8), raw_dtype=q8)
        elif is_norm:
            writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
        else:
            writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
