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
    (`attention.to_q.weight`, ...); pad tokens (`[dim]` F32 or `[1, dim]` BF16 in community files)
    become plain `[1, dim]` tensors.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = strip_prefix(key)
        m = _SPLIT_ATTENTION.match(name)
        if m:
            which = m.group(2).removeprefix("w").removeprefix("to_").removesuffix("_proj")
            name = f"{m.group(1)}.to_{which}.{m.group(3)}"
        if name.endswith(_PAD_TOKENS):
            value = _pad_token(value)
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


def _pad_token(value: torch.Tensor) -> torch.Tensor:
    """A pad token as the model's `[1, dim]` parameter, whatever its stored type and number of dimensions.

    Community files hold them as `[dim]` F32 or as `[1, dim]` BF16; diffusers keeps BF16 (and any
    quantized type) as raw bytes, which the model cannot use as a parameter, so they are dequantised.
    """
    from diffusers.quantizers.gguf.utils import dequantize_gguf_tensor

    if hasattr(value, "quant_type"):
        value = dequantize_gguf_tensor(value)
    return value.as_subclass(torch.Tensor).detach().reshape(1, -1).to(torch.float32).contiguous()


# --- writing ------------------------------------------------------------------------------


def _fuse(weights: dict[str, torch.Tensor], names: list[str]) -> torch.Tensor:
    return torch.cat([weights.pop(n) for n in names], dim=0)


def z_image_to_original(
    weights: dict[str, torch.Tensor], *, split_qkv: bool = False, pad_tokens_1d: bool = False
) -> dict[str, torch.Tensor]:
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
        if key.endswith(_PAD_TOKENS) and pad_tokens_1d:
            value = value.reshape(-1)  # some community GGUFs store the pad tokens as [dim], others as [1, dim]
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


# --- writing like city96's ComfyUI-GGUF tools (tools/convert.py + tools/lcpp.patch) -----------

ARCHITECTURES = {"z_image": "lumina2", "flux2": "flux"}  # general.architecture as community files have it
QUANT_MIXES = ("Q8_0", "Q5_K_M", "Q4_K_M")
_SMALL = 1024  # tensors with at most this many elements stay F32 (convert.py's QUANTIZATION_THRESHOLD)
_HIGH_PRECISION = _PAD_TOKENS  # model-specific tensors the tools leave in the model's own dtype (BF16)
_QKV = (".attention.qkv.weight", "_attn.qkv.weight", ".linear1.weight")
_W2 = (".feed_forward.w2.weight", "_mlp.2.weight", ".linear2.weight")


def tensor_type(name: str, shape: tuple[int, ...], quant: str):
    """The GGML type a city96-style `quant` file stores tensor `name` of `shape` in."""
    import gguf

    T = gguf.GGMLQuantizationType
    if quant not in QUANT_MIXES:
        raise ValueError(f"unknown quantization {quant!r}; use one of {QUANT_MIXES}")
    if len(shape) <= 1:
        return T.F32
    if name.endswith(_HIGH_PRECISION):  # checked before the size: the real pad tokens (1x3840) are past it
        return T.BF16
    if int(np.prod(shape)) <= _SMALL:
        return T.F32
    if quant == "Q8_0":
        qtype = T.Q8_0
    elif name.endswith(_W2):
        qtype = T.Q6_K
    elif name.endswith(_QKV):
        qtype = T.Q5_K if quant == "Q4_K_M" else T.Q6_K
    else:
        qtype = T.Q4_K if quant == "Q4_K_M" else T.Q5_K
    if shape[-1] % gguf.GGML_QUANT_SIZES[qtype][0]:
        return T.F16  # rows that do not fill whole blocks
    return qtype


def quantize(data: np.ndarray, qtype) -> np.ndarray:
    """`data` (float32, rows a multiple of the block size) as GGML blocks: uint8 of shape (..., row bytes)."""
    import gguf

    T = gguf.GGMLQuantizationType
    if qtype in (T.Q8_0, T.BF16, T.F16, T.F32):
        return gguf.quants.quantize(data, qtype)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = np.ascontiguousarray(data, dtype=np.float32).reshape(-1, block)
    packed = {T.Q4_K: _q4_k, T.Q5_K: _q5_k, T.Q6_K: _q6_k}[qtype](blocks)
    assert packed.shape[1] == size
    return packed.reshape(*data.shape[:-1], data.shape[-1] // block * size)


def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16)


def _scale_min_blocks(blocks: np.ndarray, levels: int):
    """Q4_K / Q5_K: x = d*sc*q - dmin*m per 32-element sub-block; 6-bit sc and m, q in 0..levels."""
    sub = blocks.reshape(-1, 8, 32)
    lo = np.minimum(sub.min(axis=-1), 0.0)
    hi = sub.max(axis=-1)
    scale = (hi - lo) / levels
    mins = -lo
    d = _f16(scale.max(axis=-1) / 63.0)
    dmin = _f16(mins.max(axis=-1) / 63.0)
    df, dminf = d.astype(np.float32)[:, None], dmin.astype(np.float32)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(df > 0, np.clip(np.round(scale / df), 0, 63), 0).astype(np.uint8)
        m = np.where(dminf > 0, np.clip(np.round(mins / dminf), 0, 63), 0).astype(np.uint8)
        eff_d = (df * sc)[..., None]
        eff_m = (dminf * m)[..., None]
        q = np.where(eff_d > 0, np.round((sub + eff_m) / eff_d), 0)
    q = np.clip(q, 0, levels).astype(np.uint8)
    scales = np.empty((len(blocks), 12), np.uint8)
    scales[:, 0:4] = (sc[:, :4] & 0x3F) | ((sc[:, 4:] >> 4) << 6)
    scales[:, 4:8] = (m[:, :4] & 0x3F) | ((m[:, 4:] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:] & 0x0F) | ((m[:, 4:] & 0x0F) << 4)
    head = np.concatenate([d.reshape(-1, 1).view(np.uint8), dmin.reshape(-1, 1).view(np.uint8), scales], axis=1)
    return head, q


def _nibbles(q: np.ndarray) -> np.ndarray:
    """Sub-blocks 2g (low nibble) and 2g+1 (high nibble) share 32 bytes."""
    q = q.reshape(-1, 4, 2, 32) & 0x0F
    return (q[:, :, 0] | (q[:, :, 1] << 4)).reshape(-1, 128).astype(np.uint8)


def _q4_k(blocks: np.ndarray) -> np.ndarray:
    head, q = _scale_min_blocks(blocks, 15)
    return np.concatenate([head, _nibbles(q)], axis=1)


def _q5_k(blocks: np.ndarray) -> np.ndarray:
    head, q = _scale_min_blocks(blocks, 31)
    high = (q >> 4) & 1  # (n, 8, 32): bit i of qh[k] is sub-block i's fifth bit
    qh = np.zeros((len(blocks), 32), np.uint8)
    for i in range(8):
        qh |= (high[:, i] << i).astype(np.uint8)
    return np.concatenate([head, qh, _nibbles(q)], axis=1)


def _q6_k(blocks: np.ndarray) -> np.ndarray:
    """x = d*sc*(q-32) per 16-element sub-block; int8 sc, q in 0..63."""
    sub = blocks.reshape(-1, 16, 16)
    scale = np.abs(sub).max(axis=-1) / 31.0
    d = _f16(scale.max(axis=-1) / 127.0)
    df = d.astype(np.float32)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(df > 0, np.clip(np.round(scale / df), 0, 127), 0).astype(np.int8)
        eff = (df * sc)[..., None]
        q = np.where(eff > 0, np.round(sub / eff), 0)
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(-1, 2, 128)  # halves of 128
    low = q & 0x0F
    ql = (low[:, :, :64] | (low[:, :, 64:] << 4)).reshape(-1, 128)
    high = (q >> 4).reshape(-1, 2, 4, 32)
    qh = (high[:, :, 0] | (high[:, :, 1] << 2) | (high[:, :, 2] << 4) | (high[:, :, 3] << 6)).reshape(-1, 64)
    return np.concatenate([ql, qh.astype(np.uint8), sc.view(np.uint8), d.reshape(-1, 1).view(np.uint8)], axis=1)


def write_gguf(path: Path, tensors: dict[str, torch.Tensor], *, family: str, quant: str = "Q8_0") -> Path:
    """Write a transformer as city96's tools do: architecture `lumina2`/`flux`, small and 1-D tensors F32,
    pad tokens BF16, the `quant` mix (Q4_K_M: qkv Q5_K, w2 Q6_K, the rest Q4_K), rows that do not fill
    whole blocks F16."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch=ARCHITECTURES[family])
    writer.add_file_type(
        {"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q5_K_M": gguf.LlamaFileType.MOSTLY_Q5_K_M}.get(
            quant, gguf.LlamaFileType.MOSTLY_Q4_K_M
        )
    )
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, tensor in tensors.items():
        data = np.ascontiguousarray(tensor.detach().to(torch.float32).cpu().numpy())
        qtype = tensor_type(strip_prefix(name), tuple(data.shape), quant)
        if qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, data)
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(name, data.astype(np.float16))
        else:
            writer.add_tensor(name, quantize(data, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
