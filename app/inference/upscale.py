"""Upscale for print: a big picture repainted tile by tile at the model's own resolution.

Each tile starts from the enlarged AI picture blended with the full-resolution procedural painting of the
same tile (app/render/tiles.py: `guide_tile`); Z-Image repaints it as img2img at a low strength, FLUX.2
takes it as its reference image. The tiles go back feathered (`tiles.Blender`). One tile is in the pipeline
at a time, so the model, its activations and the VAE decode only ever see a tile (the VAE also decodes in
tiles of its own when a tile is larger than `loading.VAE_TILING_ABOVE`).

Progress is "tile i of n, step j of m" with an ETA over every tile; a cancel stops at the next step. The
out-of-memory ladder runs per tile, and the setting that fitted is kept for the tiles after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from app.inference import api
from app.inference.manager import ModelManager
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.render import tiles as tl

STAGE = "upscale"  # the progress events' stage


@dataclass
class Tiled:
    image: np.ndarray  # HxWx3 uint8 at the picture's size
    steps: int  # denoising steps each tile ran
    seconds: float
    plan: api.StagePlan  # the plan the last tile ran with (after any out-of-memory change)


class _TileProgress:
    """The pipeline's "denoise" events of one tile as "upscale" events over all tiles, with an ETA."""

    def __init__(self, progress, count: int) -> None:
        self.progress, self.count = progress, count
        self.tile = 0
        self.steps = 0  # steps per tile, known from the first tile's first step
        self.started = time.monotonic()

    def __call__(self, stage: str, step: int, total: int, message: str = "", preview=None) -> None:
        if stage != "denoise":
            self.progress(stage, step, total, message)
            return
        if step <= 0:  # an out-of-memory note
            self.progress(STAGE, self.tile * max(self.steps, 1), self.count * max(self.steps, 1), message)
            return
        self.steps = self.steps or total
        done = self.tile * self.steps + step
        overall = self.count * self.steps
        eta = (time.monotonic() - self.started) / done * (overall - done)
        self.progress(STAGE, done, overall,
                      f"upscale: tile {self.tile + 1} of {self.count}, step {step} of {total}, "
                      f"about {eta:.0f} s left")  # fmt: skip


def refine_tiles(
    manager: ModelManager,
    plan: api.StagePlan,
    grid: tl.TileGrid,
    *,
    base: np.ndarray,
    painting: np.ndarray,
    scale: float,
    prompt: str,
    negative: str = "",
    structure: np.ndarray | None = None,
    strength: float = 0.3,
    seed: int = 0,
    mix: float = 0.2,
    detail: float = 0.8,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    notes: list[str] | None = None,
) -> Tiled:
    """Repaint `base` (the AI picture enlarged to its final size) tile by tile over `grid`.

    `painting` is the procedural painting at the same size; `scale` how many times `base` was enlarged.
    Z-Image (`plan.family == "z_image"`) runs img2img at `strength`; the FLUX.2 families take the tile as
    their reference image, with the structure image's tile beside it. Tile i uses seed `seed + i`.
    Raises `Cancelled` (nothing is returned) or `OutOfMemory` like `api.generate`.
    """
    h, w = base.shape[:2]
    if painting.shape[:2] != (h, w) or (grid.width, grid.height) != (w, h):
        raise ValueError(f"picture {w}x{h}, painting {painting.shape[1]}x{painting.shape[0]} and grid "
                         f"{grid.width}x{grid.height} differ")  # fmt: skip
    img2img = plan.family == "z_image"
    plan = replace(plan, use_controlnet=False, controlnet_file=None) if img2img else plan
    blender = tl.Blender(grid)
    counter = _TileProgress(progress, grid.count)
    counter.progress(STAGE, 0, grid.count, f"upscale: {grid.count} tiles ({grid.rows}×{grid.cols})")
    t0 = time.monotonic()
    shrink, offload = 1.0, plan.offload  # what the out-of-memory ladder settled on, kept for the next tiles
    for tile in grid.tiles:
        cancel.check()
        counter.tile = tile.index
        init = tl.guide_tile(tile.crop(base), tile.crop(painting), scale=scale, mix=mix, detail=detail)
        mw, mh = tile.model_size
        refs: tuple[np.ndarray, ...] = ()
        if not img2img and structure is not None:
            refs = (tile.crop(structure),)
        request = api.Request(prompt, negative, init, None, refs, float(strength), int(seed) + tile.index)
        tile_plan = api.snap_size(replace(plan, width=round(mw * shrink), height=round(mh * shrink), offload=offload))
        out, used = api.run_ladder(manager, tile_plan, request, progress=counter, cancel=cancel, notes=notes)
        shrink, offload = min(shrink, used.width / mw), used.offload
        tw, th = tile.size
        if out.shape[:2] != (th, tw):
            out = np.asarray(api.to_pil(out, tw, th))
        blender.add(tile, out)
        del out, init
    cancel.check()
    steps = counter.steps or plan.steps
    counter.progress(STAGE, grid.count * steps, grid.count * steps, "upscale: done")
    return Tiled(blender.result(), steps, time.monotonic() - t0, replace(plan, offload=offload))
