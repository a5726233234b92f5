"""Upscale for print, as a step of the render chain: after the last AI stage, when the export is much larger
than the picture the stage painted, the picture is repainted tile by tile at the model's own resolution,
each tile guided by the full-resolution procedural painting (app/inference/upscale.py). torch is imported
only when it runs.

`--upscale auto` (the default) runs it when the export's long side is more than `AUTO_RATIO` times the
stage picture's; `on` whenever the export is larger than the stage picture; `off` keeps the plain Lanczos
enlargement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress

MODES = ("auto", "on", "off")
AUTO_RATIO = 1.5  # auto: upscale when the export's long side is more than this times the stage picture's
STRENGTH = 0.3  # Z-Image img2img strength of a tile: keep the picture, sharpen what the painting says
PAINTING_MIX = 0.2  # share of the full-resolution painting in a tile's starting picture
DETAIL = 0.8  # the painting's fine detail (above the stage's resolution) added to it
OVERLAP = 1 / 8  # of the tile side


@dataclass
class Upscaled:
    image: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)  # the picture's metadata["upscale"]
    notes: list[str] = field(default_factory=list)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown upscale mode '{mode}' (choose from {', '.join(MODES)})")
    return mode


def enlargement(size: tuple[int, int], stage_size: tuple[int, int]) -> float:
    """How many times the export's long side is the stage picture's."""
    return max(size) / max(1, max(stage_size))


def wanted(mode: str, size: tuple[int, int], stage_size: tuple[int, int]) -> bool:
    """Whether the upscale step runs for this export size after a stage that painted `stage_size`."""
    check_mode(mode)
    ratio = enlargement(size, stage_size)
    if mode == "off" or ratio <= 1.0:
        return False
    return mode == "on" or ratio > AUTO_RATIO


def upscale(
    engines,
    stage: str,
    *,
    image: np.ndarray,
    painting: np.ndarray,
    structure: np.ndarray,
    stage_size: tuple[int, int],
    prompt: str,
    negative: str,
    seed: int,
    options,
    mode: str = "auto",
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> Upscaled:
    """Repaint `image` (the stage's picture enlarged to the export size) in tiles of the stage's resolution with
    the stage's model; `painting` is the procedural painting at the export size. The info holds the tile grid,
    the strength, the model and the map fidelity of the full-size result."""
    from app.inference.fidelity import edge_f1
    from app.inference.upscale import refine_tiles
    from app.render.tiles import plan_grid

    h, w = image.shape[:2]
    choice = options.final_model if stage == "final" else None
    plan, model = engines.plan(stage, (w, h), steps=options.steps, guide="img2img", model=choice)
    loras = tuple(spec for spec in options.loras if spec.engine in (None, stage))
    if loras:  # checked when the stage ran with them
        plan = replace(plan, loras=loras)
    side = engines.tier.stage(stage).resolution
    grid = plan_grid((w, h), side, round(side * OVERLAP))
    img2img = plan.family == "z_image"
    notes: list[str] = []
    tiled = refine_tiles(
        engines.manager, plan, grid, base=image, painting=painting, scale=enlargement((w, h), stage_size),
        prompt=prompt, negative=negative, structure=structure, strength=STRENGTH, seed=seed, mix=PAINTING_MIX,
        detail=DETAIL, progress=progress, cancel=cancel, notes=notes,
    )  # fmt: skip
    info = {
        "mode": mode,
        **grid.record(),
        "tiles": grid.count,
        "from": [int(v) for v in stage_size],
        "model": model.model_id,
        "variant": model.variant,
        "guide": "img2img" if img2img else "reference",
        "strength": STRENGTH if img2img else None,
        "steps": tiled.steps,
        "painting_mix": PAINTING_MIX,
        "detail": DETAIL,
        "seconds": round(tiled.seconds, 2),
        "fidelity": round(float(edge_f1(tiled.image, structure)), 4),  # on the full-size picture
    }
    if tiled.plan.offload != plan.offload:
        info["offload"] = tiled.plan.offload
    return Upscaled(tiled.image, info, notes)
