"""Load pipeline components from local files, and place a pipeline on a device.

Only safetensors and GGUF are read; never pickle, never remote code, never the hub.
A diffusers folder is loaded component by component so that the manager can share a component
(same files on disk, same dtype) between pipelines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from app.errors import ModelUnavailable
from app.inference import gguf_io


def _quiet_libraries() -> None:
    """The app reports its own progress; the libraries' console progress bars would only be noise."""
    try:
        from transformers.utils import logging as tlog

        tlog.disable_progress_bar()
        tlog.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is part of the ai extra
        pass
    from diffusers.utils import logging as dlog

    dlog.disable_progress_bar()
    dlog.set_verbosity_error()


_quiet_libraries()

DTYPES = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
}
OFFLOAD_MODES = ("none", "model", "group", "sequential")
VAE_TILING_ABOVE = 1536 * 1536  # pixels; larger outputs decode in tiles

_DIFFUSERS_CLASSES = {
    "ZImageTransformer2DModel",
    "ZImageControlNetModel",
    "Flux2Transformer2DModel",
    "AutoencoderKL",
    "AutoencoderKLFlux2",
    "FlowMatchEulerDiscreteScheduler",
}
_TRANSFORMERS_CLASSES = {"Qwen3Model", "Qwen3ForCausalLM", "Mistral3ForConditionalGeneration"}
_TOKENIZER_CLASSES = {"Qwen2Tokenizer", "Qwen2TokenizerFast", "PixtralProcessor", "AutoTokenizer"}
_BUILTIN_CONFIGS = Path(__file__).resolve().parent / "configs"


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; use one of {sorted(DTYPES)}") from None


@dataclass(frozen=True)
class ComponentSpec:
    """One thing to load: a subfolder of a diffusers folder, or a single weights file."""

    name: str  # transformer, vae, text_encoder, tokenizer, scheduler, controlnet
    cls_name: str
    path: Path  # the diffusers folder (subfolder `name`), or a single .safetensors / .gguf file
    dtype: torch.dtype | None = None
    config: Path | None = None  # for single files: the local folder that holds the config
    family: str = ""
    share_tag: str = ""  # objects that a pipeline mutates (a ControlNet) are shared only within a tag

    @property
    def single_file(self) -> bool:
        return self.path.is_file()

    def key(self) -> tuple:
        """Same files on disk + same class + same dtype -> the same loaded object."""
        if self.single_file:
            files = (str(self.path.resolve()),)
        else:
            folder = self.path / self.name
            files = tuple(str(f.resolve()) for f in sorted(folder.glob("*")) if f.is_file())
        return (self.cls_name, files, str(self.dtype), self.share_tag)


def read_model_index(model_dir: Path) -> dict:
    index = model_dir / "model_index.json"
    if not index.is_file():
        raise ModelUnavailable(f"{model_dir.name} is incomplete: model_index.json is missing", path=str(model_dir))
    return json.loads(index.read_text(encoding="utf-8"))


def folder_specs(model_dir: Path, dtype: torch.dtype, family: str) -> dict[str, ComponentSpec]:
    """Specs for every component a diffusers folder lists (classes checked against an allow-list)."""
    index = read_model_index(model_dir)
    specs = {}
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[1] is None:
            continue
        cls_name = value[1]
        if cls_name not in _DIFFUSERS_CLASSES | _TRANSFORMERS_CLASSES | _TOKENIZER_CLASSES:
            raise ModelUnavailable(f"{model_dir.name}: unsupported component {name} ({cls_name})", path=str(model_dir))
        is_weights = name not in ("tokenizer", "scheduler")
        specs[name] = ComponentSpec(name, cls_name, model_dir, dtype if is_weights else None, family=family)
    return specs


def load_component(spec: ComponentSpec):
    """Load one component from local files."""
    import diffusers
    import transformers

    if spec.single_file:
        return _load_single_file(spec)
    folder = spec.path / spec.name
    if not folder.is_dir():
        raise ModelUnavailable(f"{spec.path.name} is incomplete: {spec.name}/ is missing", path=str(spec.path))
    if spec.cls_name in _TOKENIZER_CLASSES:
        return transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    if spec.cls_name == "FlowMatchEulerDiscreteScheduler":
        return diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(
            str(spec.path), subfolder=spec.name, local_files_only=True
        )
    if not any(folder.glob("*.safetensors")):
        raise ModelUnavailable(f"{spec.path.name}/{spec.name} has no .safetensors weights", path=str(folder))
    if spec.cls_name in _TRANSFORMERS_CLASSES:
        cls = getattr(transformers, spec.cls_name)
        return cls.from_pretrained(
            str(folder), dtype=spec.dtype, local_files_only=True, use_safetensors=True, trust_remote_code=False
        ).eval()
    cls = getattr(diffusers, spec.cls_name)
    return cls.from_pretrained(
        str(spec.path), subfolder=spec.name, torch_dtype=spec.dtype, local_files_only=True, use_safetensors=True
    ).eval()


def _load_single_file(spec: ComponentSpec):
    import diffusers

    if spec.cls_name not in _DIFFUSERS_CLASSES:
        raise ModelUnavailable(
            f"{spec.path.name}: cannot load a {spec.cls_name} from a single file", path=str(spec.path)
        )
    cls = getattr(diffusers, spec.cls_name)
    suffix = spec.path.suffix.lower()
    if suffix == ".gguf":
        state = gguf_io.read_gguf(spec.path)
        quant = diffusers.GGUFQuantizationConfig(compute_dtype=spec.dtype or torch.bfloat16)
    elif suffix == ".safetensors":
        from safetensors.torch import load_file

        state, quant = load_file(str(spec.path)), None
    else:
        raise ModelUnavailable(f"{spec.path.name}: only .safetensors and .gguf files are loaded", path=str(spec.path))
    if spec.cls_name == "ZImageTransformer2DModel":
        state = gguf_io.normalize_z_image(state)
    elif spec.cls_name == "Flux2Transformer2DModel":
        state = gguf_io.normalize_flux2(state)
    config, subfolder = _single_file_config(spec)
    kwargs = {"quantization_config": quant} if quant is not None else {}
    model = cls.from_single_file(
        state, config=str(config), subfolder=subfolder, torch_dtype=spec.dtype, local_files_only=True, **kwargs
    )
    return model.eval()


def _single_file_config(spec: ComponentSpec) -> tuple[Path, str | None]:
    """The local config for a single file: the pack folder's subfolder, a sibling config.json, or a built-in one."""
    if spec.config is not None:
        if (spec.config / "config.json").is_file():
            return spec.config, None
        return spec.config, spec.name
    if (spec.path.parent / "config.json").is_file():
        return spec.path.parent, None
    builtin = _BUILTIN_CONFIGS / spec.cls_name
    if (builtin / "config.json").is_file():
        return builtin, None
    raise ModelUnavailable(f"{spec.path.name}: no local config for {spec.cls_name}", path=str(spec.path))


def module_bytes(obj) -> int:
    if not isinstance(obj, torch.nn.Module):
        return 0
    total = sum(p.numel() * p.element_size() for p in obj.parameters())
    return total + sum(b.numel() * b.element_size() for b in obj.buffers())


# --- placement ---------------------------------------------------------------------------


def supported_offloads(device: str) -> tuple[str, ...]:
    if device == "cuda":
        return OFFLOAD_MODES
    if device == "mps":
        return ("none", "model", "sequential")
    return ("none",)


def has_gguf_weights(pipe) -> bool:
    """Whether any of the pipeline's modules holds GGUF-quantized parameters."""
    for module in getattr(pipe, "components", {}).values():
        if isinstance(module, torch.nn.Module) and any(hasattr(p, "quant_type") for p in module.parameters()):
            return True
    return False


def offload_for(offload: str, device: str, *, gguf: bool) -> str:
    """The offload mode `place` applies for `offload` on `device`.

    Modes the device does not support become "none". Sequential offload of a GGUF transformer fails in
    diffusers 0.42 (`KeyError: None` in `GGML_QUANT_SIZES`, diffusers issue #14691, fixed by the
    unreleased PR #14698), so it becomes leaf-level group offload, which moves the same small pieces
    (every leaf module) to the device one at a time and works with GGUF.
    """
    if offload not in OFFLOAD_MODES:
        raise ValueError(f"unknown offload mode {offload!r}")
    if offload not in supported_offloads(device):
        return "none"
    if offload == "sequential" and gguf:
        return "group"
    return offload


def place(pipe, device: str, offload: str) -> str:
    """Put `pipe` on `device` with `offload` (as `offload_for` maps it). Returns the mode used."""
    offload = offload_for(offload, device, gguf=has_gguf_weights(pipe))
    pipe.remove_all_hooks()
    if offload == "none":
        pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.enable_group_offload(
            onload_device=torch.device(device),
            offload_device=torch.device("cpu"),
            offload_type="leaf_level",
            use_stream=device == "cuda",  # streams are CUDA's; elsewhere the pieces move synchronously
        )
    return offload


def set_vae_tiling(pipe, width: int, height: int) -> bool:
    """Tile the VAE for large outputs; returns whether tiling is on."""
    vae = getattr(pipe, "vae", None)
    on = width * height > VAE_TILING_ABOVE
    if vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling() if on else vae.disable_tiling()
    return on
