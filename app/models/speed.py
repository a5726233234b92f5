"""How long an AI image takes on this machine: the models' FLOPs over a measured matmul rate.

The estimate, per stage (written so a person can check it):

    tokens      = (width / 16) · (height / 16) · (1 + reference images) + prompt tokens
                  (both families: VAE 8× down, then 2×2 patches; FLUX.2's final stage attends to the
                  reference image's tokens too)
    transformer = 2 · parameters · tokens · steps        (a multiply-add per weight per token per pass)
    text        = 2 · text-encoder parameters · prompt tokens   (once per image)
    vae         = 5 TFLOP per megapixel decoded (about 1.3 TFLOP at 512², the usual figure for these VAEs)
    seconds     = (transformer + text + vae) / (measured rate · efficiency)

Attention's own T² term is left out (small next to 2·P·T below about 2 megapixels), and an img2img
pass at strength s runs about s·steps passes: the estimate is the upper end, rounded. The rate is a
short dense matmul probe (numpy float32 on the CPU; torch on CUDA/MPS, through app/inference), and a
whole pipeline reaches about half of it (`EFFICIENCY`): dequantising GGUF weights, bf16 on CPUs
without bf16 units, memory traffic.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

EFFICIENCY = 0.5
PATCH_PX = 16  # pixels per token edge: VAE 8× down, 2×2 patches
PROMPT_TOKENS = 256
VAE_FLOP_PER_MPX = 5e12
SLOW_SECONDS = 120.0  # an image that takes longer than this "takes minutes": say so before offering a download

# Parameters (transformer, text encoder) from the model cards: Z-Image 6B with Qwen3-4B; FLUX.2 [klein] 4B with
# Qwen3-4B and 9B with Qwen3-8B; FLUX.2 [dev] 32B with Mistral Small 3.1 24B.
PARAMS: dict[str, tuple[float, float]] = {
    "z-image-turbo": (6.15e9, 4.0e9),
    "flux2-klein-4b": (3.9e9, 4.0e9),
    "flux2-klein-9b": (9.1e9, 8.2e9),
    "flux2-dev": (32.2e9, 24.0e9),
}
_FAMILY_DEFAULT = {"z-image": PARAMS["z-image-turbo"], "flux2-klein": PARAMS["flux2-klein-4b"],
                   "flux2": PARAMS["flux2-dev"]}  # fmt: skip


@dataclass(frozen=True)
class StageEstimate:
    stage: str  # preview | final
    model_id: str
    width: int
    height: int
    steps: int
    flops: float
    seconds: float


@dataclass(frozen=True)
class SpeedEstimate:
    device: str  # cpu | cuda | mps
    rate: float  # FLOP/s measured
    stages: tuple[StageEstimate, ...]

    @property
    def slow(self) -> bool:
        """An image of some enabled stage takes minutes here."""
        return any(s.seconds > SLOW_SECONDS for s in self.stages)

    def stage(self, name: str) -> StageEstimate | None:
        return next((s for s in self.stages if s.stage == name), None)

    def line(self) -> str:
        """ "preview about 40 min a picture (512 px, 9 steps), final about 25 min … (CPU, 80 GFLOP/s measured)"."""
        parts = [f"{s.stage} about {human_seconds(s.seconds)} an image ({s.width}×{s.height}, {s.steps} steps)"
                 for s in self.stages]  # fmt: skip
        return f"{', '.join(parts) or 'no AI stage'} ({self.device.upper()}, {self.rate / 1e9:.0f} GFLOP/s measured)"

    def short(self) -> str:
        """For the status bar: "AI: ~40 min an image on this CPU"."""
        worst = max(self.stages, key=lambda s: s.seconds, default=None)
        if worst is None:
            return ""
        return f"AI: ~{human_seconds(worst.seconds)} an image on this {self.device.upper()}"

    def warning(self, download_gb: float = 0.0) -> str:
        """The sentence said before a download is offered on a slow machine ('' on a fast one)."""
        if not self.slow:
            return ""
        worst = max(self.stages, key=lambda s: s.seconds)
        size = f" ({download_gb:.1f} GB)" if download_gb else ""
        return (
            f"On this machine ({self.device.upper()}, {self.rate / 1e9:.0f} GFLOP/s measured) one AI image would take "
            f"about {human_seconds(worst.seconds)}: the procedural engine, which paints every style in seconds, "
            f"stays the recommendation here; download the AI models{size} only if you can wait that long"
        )


def human_seconds(s: float) -> str:
    if s < 90:
        return f"{max(1, round(s))} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


def stage_flops(model_id: str, family: str, width: int, height: int, steps: int, references: int = 0) -> float:
    """FLOPs for one image of a stage (the formula in the module docstring)."""
    transformer, text = PARAMS.get(model_id) or _FAMILY_DEFAULT.get(family, PARAMS["z-image-turbo"])
    tokens = (width / PATCH_PX) * (height / PATCH_PX) * (1 + references) + PROMPT_TOKENS
    return 2 * transformer * tokens * steps + 2 * text * PROMPT_TOKENS + VAE_FLOP_PER_MPX * width * height / 1e6


def estimate(tier, catalog, rate: float) -> SpeedEstimate:
    """Seconds per image for each enabled stage of `tier` at `rate` FLOP/s (square images at the stage's
    resolution, the tier's steps)."""
    out = []
    for st in (tier.preview, tier.final):
        if not st.enabled or not st.model:
            continue
        entry = catalog.models[st.model]
        refs = 1 if st.name == "final" else 0
        flops = stage_flops(st.model, entry.family, st.resolution, st.resolution, st.steps, refs)
        out.append(StageEstimate(st.name, st.model, st.resolution, st.resolution, st.steps, flops,
                                 flops / (rate * EFFICIENCY)))  # fmt: skip
    return SpeedEstimate(tier.device, rate, tuple(out))


@functools.lru_cache(maxsize=1)
def cpu_matmul_rate(seconds: float = 0.2, n: int = 512) -> float:
    """FLOP/s of a float32 n×n matmul with numpy on this CPU, measured for about `seconds` (cached): the best of
    four rounds, so that another program's burst on a shared core does not make the machine look slower."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up (threads, caches)
    best = 0.0
    for _ in range(4):
        count, t0 = 0, time.perf_counter()
        while True:
            a @ b
            count += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds / 4:
                break
        best = max(best, 2 * n**3 * count / elapsed)
    return best


def measure(tier, catalog, *, torch_rate: Callable[[str], float | None] | None = None) -> SpeedEstimate | None:
    """The estimate for this machine: numpy on the CPU; on CUDA/MPS `torch_rate(device)`
    (app.inference.probe.matmul_rate, passed in by the layers that may import torch). None when the
    device's rate cannot be measured."""
    if tier.device == "cpu":
        rate = cpu_matmul_rate()
    else:
        rate = torch_rate(tier.device) if torch_rate is not None else None
    if not rate:
        return None
    return estimate(tier, catalog, rate)
