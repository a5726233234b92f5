"""The AI engines' one entry point: `generate(manager, plan, ...)` -> HxWx3 uint8 image.

A `StagePlan` says which model, where and how (dtype, offload, size, steps); the family module
in `pipelines/` builds the pipeline and runs it. Out-of-memory is retried down a ladder (more
offload, then lower resolution) and each change is told to the person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from app.errors import Cancelled, OutOfMemory
from app.inference import loading, lora
from app.inference.manager import ModelManager, free_memory
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS

Stage = Literal["preview", "final"]
_RESOLUTION_STEPS = (0.75, 0.5)
_MULTIPLE = 16  # VAE scale factor 8 x patch size 2, for every family here
_MIN_SIDE = 32


@dataclass(frozen=True)
class StagePlan:
    stage: Stage
    family: str  # "z_image" | "flux2_klein" | "flux2"
    model_dir: Path  # a diffusers folder (config + every component not given as a single file)
    transformer_file: Path | None = None  # GGUF or safetensors single file replacing model_dir/transformer
    controlnet_file: Path | None = None
    dtype: str = "bfloat16"
    offload: str = "none"  # none | model | group | sequential
    device: str = "cuda"  # cuda | mps | cpu
    width: int = 1024
    height: int = 1024
    steps: int = 8
    use_controlnet: bool = False
    loras: tuple = ()  # lora.LoraSpec, active on this stage's transformer (not part of the pipeline key)


@dataclass(frozen=True)
class Request:
    prompt: str
    negative: str = ""
    image: np.ndarray | None = None  # init image (img2img), HxWx3 uint8
    control: np.ndarray | None = None  # structure image for the ControlNet
    references: tuple[np.ndarray, ...] = ()
    strength: float = 0.6
    seed: int = 0
    mask: np.ndarray | None = None  # repaint only where this is white (HxW, any size): app/inference/inpaint.py


def generate(
    manager: ModelManager,
    plan: StagePlan,
    *,
    prompt: str,
    negative: str = "",
    image: np.ndarray | None = None,
    control: np.ndarray | None = None,
    references: list[np.ndarray] | None = None,
    strength: float = 0.6,
    seed: int = 0,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    notes: list[str] | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Render one image. Returns HxWx3 uint8 at the plan's size.

    With `mask` (white = repaint) the family's inpainting pipeline repaints that region of `image`.

    `notes` (optional) receives one plain sentence per change the out-of-memory ladder made.
    Raises `Cancelled` when `cancel` fires (the pipeline stays usable), `OutOfMemory` when even
    the smallest setting does not fit.
    """
    request = Request(prompt, negative, image, control, tuple(references or ()), float(strength), int(seed), mask)
    out, _ = run_ladder(manager, plan, request, progress=progress, cancel=cancel, notes=notes)
    if out.shape[:2] != (plan.height, plan.width):
        out = _resize(out, plan.width, plan.height)
    return out


def run_ladder(
    manager: ModelManager,
    plan: StagePlan,
    request: Request,
    *,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    notes: list[str] | None = None,
) -> tuple[np.ndarray, StagePlan]:
    """`request` down the out-of-memory ladder from `plan`: (image at the size of the attempt that fitted, that
    attempt's plan). A caller painting many tiles starts the next one from the returned plan."""
    family = family_module(plan.family, inpaint=request.mask is not None)
    notes = notes if notes is not None else []
    last_error: BaseException | None = None
    for attempt, note in oom_ladder(plan):
        cancel.check()
        if note:
            notes.append(note)
            progress("denoise", 0, attempt.steps, note)
        try:
            out = _run_once(manager, family, attempt, request, progress, cancel)
        except Cancelled:
            raise
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            last_error = exc
            key = family.pipeline_key(attempt)
            if manager.placement(key) and manager.placement(key)[1] == "group":
                manager.evict(key)  # group offloading cannot be undone in place
            manager.evict_others(keep=key)
            free_memory()
            continue
        return out, attempt
    raise OutOfMemory(
        f"Not enough memory for the {plan.stage} image even at the smallest size and with the most offloading. "
        "Close other programs using the GPU, or choose a smaller output size."
    ) from last_error


def _run_once(manager, family, plan: StagePlan, request: Request, progress, cancel) -> np.ndarray:
    key = family.pipeline_key(plan)
    if key not in manager.resident():
        progress("load", 0, 1, f"Loading {family.LABEL}…")
    pipe = manager.pipeline(key, lambda m: family.build(m, plan))
    # before placing: offload hooks then cover the adapters; fused only where the weights stay whole in memory
    lora.apply(pipe, plan.loras, family.LABEL, fuse=plan.offload in ("none", "model"))
    manager.place(key, plan.device, plan.offload)
    loading.set_vae_tiling(pipe, plan.width, plan.height)
    callback = StepCallback(progress, cancel, family.LABEL)
    try:
        with torch.inference_mode():
            return family.run(manager, key, pipe, plan, request, callback)
    finally:
        pipe.maybe_free_model_hooks()


class StepCallback:
    """`callback_on_step_end`: progress with an ETA, and cancel at the step boundary."""

    def __init__(self, progress, cancel: CancelToken, label: str) -> None:
        self.progress, self.cancel, self.label = progress, cancel, label
        self.started = time.monotonic()

    def __call__(self, pipe, i: int, t, kwargs: dict) -> dict:
        self.cancel.check()
        total = int(getattr(pipe, "num_timesteps", 0) or i + 1)
        done = i + 1
        per_step = (time.monotonic() - self.started) / done
        eta = per_step * (total - done)
        self.progress("denoise", done, total, f"{self.label}: step {done} of {total}, about {eta:.0f} s left")
        return {}


def oom_ladder(plan: StagePlan):
    """(plan, note) attempts: as planned, then more offload, then lower resolution."""
    yield plan, ""
    modes = loading.supported_offloads(plan.device)
    current = plan.offload if plan.offload in modes else "none"
    gguf = plan.transformer_file is not None and plan.transformer_file.suffix.lower() == ".gguf"
    tried = {loading.offload_for(current, plan.device, gguf=gguf)}
    for mode in modes[modes.index(current) + 1 :]:
        used = loading.offload_for(mode, plan.device, gguf=gguf)
        if used in tried:  # a GGUF transformer's 'sequential' is the 'group' already tried
            continue
        tried.add(used)
        plan = replace(plan, offload=mode)
        yield plan, f"Out of GPU memory: retrying with '{used}' offloading (slower)."
    base_w, base_h = plan.width, plan.height
    for scale in _RESOLUTION_STEPS:
        w, h = _snap(base_w * scale), _snap(base_h * scale)
        if (w, h) == (plan.width, plan.height):
            continue
        plan = replace(plan, width=w, height=h)
        yield plan, f"Out of memory: rendering at {w}×{h} and enlarging to {base_w}×{base_h}."


def _snap(x: float) -> int:
    return max(_MIN_SIDE, int(x) // _MULTIPLE * _MULTIPLE)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "mps backend out of memory" in text)


def family_module(name: str, *, inpaint: bool = False):
    if inpaint:
        from app.inference import inpaint as inpainting

        return inpainting.family(name)
    from app.inference.pipelines import flux2, flux2_klein, z_image

    families = {"z_image": z_image, "flux2_klein": flux2_klein, "flux2": flux2}
    if name not in families:
        raise ValueError(f"unknown model family {name!r}")
    return families[name]


# --- image helpers shared by the family modules -----------------------------------------


def to_pil(array: np.ndarray, width: int, height: int):
    from PIL import Image

    img = Image.fromarray(np.asarray(array, dtype=np.uint8)[..., :3])
    return img if img.size == (width, height) else img.resize((width, height), Image.Resampling.LANCZOS)


def to_uint8(images) -> np.ndarray:
    """First image of a pipeline's `output_type="np"` result as HxWx3 uint8."""
    arr = np.asarray(images[0], dtype=np.float32)
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(to_pil(array, width, height))


def snap_size(plan: StagePlan) -> StagePlan:
    """The plan with width/height rounded down to what the models accept."""
    return replace(plan, width=_snap(plan.width), height=_snap(plan.height))
