"""LoRAs on the Z-Image and FLUX.2 pipelines: checked, loaded once, switched with `set_adapters`.

- Only `.safetensors` files are read (never pickle). Key formats are what diffusers' loaders
  convert for the family (`ZImageLoraLoaderMixin`, `Flux2LoraLoaderMixin`): diffusers/PEFT,
  Kohya (`lora_unet_…`, `lora_down`/`lora_up`/`alpha`) and ComfyUI/ai-toolkit `diffusion_model.…`.
- Before loading, every LoRA module is matched against the transformer (the module exists, the
  LoRA's in/out sizes are the layer's), so a LoRA for another base is refused with one line.
- Adapters live on the transformer, which the manager shares between a model's pipelines and keeps
  resident: a LoRA is loaded once (adapter named by its sha256) and later images only switch the
  active set and weights. Weight 0 leaves the picture unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

_HASHES: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class LoraSpec:
    path: Path
    weight: float = 1.0
    engine: str | None = None  # "preview" | "final"; None: whichever AI stage runs
    ref: str = ""  # an imported LoRA's id (lora:ID, ID) or hub:owner/repo/file; `path` is set by `resolved`

    @property
    def name(self) -> str:
        return Path(self.path).stem


def resolved(spec: LoraSpec, models_dir=None) -> LoraSpec:
    """The spec with `path` the checked file: an id looked up among the imported LoRAs (app/models/loras.py)."""
    from dataclasses import replace

    if spec.ref:
        from app.models.loras import LoraLibrary

        spec = replace(spec, path=LoraLibrary(models_dir).resolve(spec.ref))
    return replace(spec, path=check_file(spec.path))


def parse_cli(text: str) -> LoraSpec:
    """`PATH[:WEIGHT]` as given to --lora (a Windows drive letter's colon is not a weight)."""
    path, weight = text, 1.0
    head, sep, tail = text.rpartition(":")
    if sep and head and "/" not in tail and "\\" not in tail:
        try:
            weight = float(tail)
            path = head
        except ValueError:
            if not (len(head) == 1 and head.isalpha()):
                raise InputError(f"--lora {text}: the weight after ':' must be a number, like {head}:0.8") from None
    from app.models.loras import is_ref

    if is_ref(path):
        return LoraSpec(Path(path), weight, ref=path)
    return LoraSpec(Path(path).expanduser(), weight)


def check_file(path: Path) -> Path:
    """The LoRA file, or a one-line InputError when it is missing or not safetensors."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise InputError(
            f"{path}: LoRAs are loaded only from .safetensors files ({path.suffix or 'no extension'} "
            "files can run code when opened)"
        )
    if not path.is_file():
        raise InputError(f"{path}: LoRA file not found")
    return path


def sha256(path: Path) -> str:
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def adapter_name(path: Path) -> str:
    return "lora_" + sha256(path)[:16]


def info(spec: LoraSpec) -> dict:
    """What the picture's metadata records of a LoRA."""
    out = {"name": spec.name, "sha256": sha256(spec.path), "weight": float(spec.weight)}
    if spec.ref:
        out["id"] = spec.ref
    return out


def guess_base(path: Path) -> str:
    """The base model a LoRA file was made for ("Z-Image", "FLUX.2", "FLUX"…), from its header; "" when unknown."""
    from app.models import loras

    try:
        keys, meta = loras.read_header(path)
    except InputError:
        return ""
    base = loras.guess_base(keys, meta)
    return loras.base_label(base) if base else ""


def read(pipe, path: Path, label: str) -> dict:
    """The LoRA's state dict in diffusers' format for this pipeline, checked against its transformer."""
    path = check_file(path)
    try:
        state = type(pipe).lora_state_dict(str(path), use_safetensors=True)
    except Exception as exc:  # a converter meeting another family's keys
        raise _mismatch(path, label, f"diffusers cannot read its keys: {exc}") from None
    if isinstance(state, tuple):
        state = state[0]
    problem = _mismatch_reason(pipe.transformer, state)
    if problem:
        raise _mismatch(path, label, problem)
    return state


def _mismatch_reason(transformer, state: dict) -> str:
    import torch

    modules = dict(transformer.named_modules())
    checked = 0
    for key, tensor in state.items():
        name = key.removeprefix("transformer.")
        for part in (".lora_A.", ".lora_B."):
            if part in name:
                module = modules.get(name.split(part)[0])
                if module is None:
                    return f"it has no layer {name.split(part)[0]}"
                base = getattr(module, "base_layer", module)  # already wrapped by another adapter
                if not isinstance(base, torch.nn.Linear):
                    return f"{name.split(part)[0]} is not a linear layer here"
                want = base.in_features if part == ".lora_A." else base.out_features
                got = tensor.shape[1] if part == ".lora_A." else tensor.shape[0]
                if int(got) != int(want):
                    return f"{name.split(part)[0]} is {got} wide in the LoRA, {want} in the model"
                checked += 1
    return "" if checked else "it holds no LoRA layers this model's loader understands"


def _mismatch(path: Path, label: str, why: str) -> InputError:
    base = guess_base(path)
    made_for = f"made for {base}" if base else "made for another base model"
    return InputError(f"{path.name}: this LoRA was {made_for}, not {label} ({why})")


def apply(pipe, loras, label: str, *, fuse: bool = True) -> list[str]:
    """Make exactly `loras` active on the pipeline's transformer, loading any not loaded yet.

    Returns the adapter names now active. The same file given twice adds its weights. When the set
    and weights are the same as for the previous image, the adapters are fused into the weights (one
    matmul per layer instead of three); any change unfuses first. `fuse=False` (offloaded weights),
    or a GGUF transformer (diffusers cannot merge into quantized weights), keeps them unfused.
    """
    transformer = pipe.transformer
    loaded = set(getattr(transformer, "peft_config", None) or {})
    weights: dict[str, float] = {}
    for spec in loras:
        check_file(spec.path)
        name = adapter_name(spec.path)
        if name not in loaded:
            unfuse(transformer)  # loading wraps layers: never on top of merged weights
            state = read(pipe, spec.path, label)
            pipe.load_lora_weights(state, adapter_name=name)
            loaded.add(name)
        weights[name] = weights.get(name, 0.0) + float(spec.weight)
    wanted = tuple(sorted(weights.items()))
    if getattr(transformer, "_mapbrush_loras", ()) == wanted:
        if wanted and fuse and not is_fused(transformer) and can_fuse(transformer):
            transformer.fuse_lora(adapter_names=list(weights))  # the set's weights, from set_adapters
            transformer._mapbrush_fused = True
        elif is_fused(transformer) and not fuse:
            unfuse(transformer)
        return list(weights)
    unfuse(transformer)
    if loaded:
        if weights:
            pipe.enable_lora()
            pipe.set_adapters(list(weights), list(weights.values()))
        else:
            pipe.disable_lora()
    transformer._mapbrush_loras = wanted
    return list(weights)


def is_fused(transformer) -> bool:
    return bool(getattr(transformer, "_mapbrush_fused", False))


def unfuse(transformer) -> None:
    """Subtract merged adapters from the weights again (PEFT's unmerge); nothing when none are merged."""
    if is_fused(transformer):
        transformer.unfuse_lora()
        transformer._mapbrush_fused = False


def is_gguf(transformer) -> bool:
    """Whether the transformer holds GGUF-quantized layers (their weights cannot take a merged LoRA)."""
    return any(type(p).__name__ == "GGUFParameter" for p in transformer.parameters())


def can_fuse(transformer) -> bool:
    """Fusing needs plain weights in memory: not GGUF, not on the meta device (sequential offload)."""
    if is_gguf(transformer):
        return False
    return not any(p.device.type == "meta" for p in transformer.parameters())


GGUF_NOTE = (
    "LoRAs on a GGUF transformer stay unfused (diffusers cannot merge them into quantized weights): "
    "they work, each step is a little slower"
)


def fuse_note(plan) -> str:
    """The sentence the window and `doctor` show when a plan's LoRAs cannot be fused; "" when they can."""
    file = getattr(plan, "transformer_file", None)
    if plan.loras and file is not None and Path(file).suffix.lower() == ".gguf":
        return GGUF_NOTE
    return ""
