"""The procedural painter: runs a style's effect chain over the rasterized layers."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.model import Kind
from app.render.imagery import lay_on_paper
from app.render.layers import Layers
from app.styles.canvas import DERIVED, Canvas, selector_kinds
from app.styles.effects import EFFECTS
from app.styles.model import Style


def effect_rng(seed: int, name: str, occurrence: int) -> np.random.Generator:
    """The Generator of the `occurrence`-th use of effect `name` in a chain.

    It does not depend on the other steps, so adding or removing one effect leaves the rest as they were.
    """
    return np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, zlib.crc32(name.encode()), occurrence])


def paint(
    layers: Layers,
    style: Style,
    *,
    seed: int = 0,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> np.ndarray:
    """Paint `layers` in `style`: HxWx3 uint8. Same layers, style and seed give the same bytes."""
    for spec in style.effects:
        if spec.name not in EFFECTS:
            raise InputError(f"style {style.name!r} uses an unknown effect {spec.name!r}", path=style.source or None)
    cv = Canvas.start(layers, style.palette, seed)
    if layers.imagery is not None:  # pictures (GroundOverlays) lie on the paper, under every effect
        lay_on_paper(cv.rgb, layers.imagery)
    total = len(style.effects)
    seen: dict[str, int] = {}
    for i, spec in enumerate(style.effects):
        cancel.check()
        progress("paint", i, total, spec.name)
        fx = EFFECTS[spec.name]
        seen[spec.name] = seen.get(spec.name, -1) + 1
        params = {**fx.defaults, **spec.params}
        rng = effect_rng(seed, spec.name, seen[spec.name])
        for view in _track_views(cv, params.get("kinds"), style.typography.track_colors):
            fx.fn(view, rng, **params)
    cancel.check()
    out = cv.to_uint8()
    progress("paint", total, total, "done")
    return out


def _track_views(cv: Canvas, kinds, colours: tuple[str, ...]) -> Iterator[Canvas]:
    """The canvas an effect paints: itself, or — for an effect on the tracks alone when several tracks are told
    apart (Layers.track_ids) — one view per track, sharing the picture, whose track mask is that track's and
    whose palette's `track` is its colour (app.render.tracks.track_palette)."""
    ids = cv.layers.track_ids
    only_tracks = isinstance(kinds, list | tuple) and bool(kinds)
    only_tracks = only_tracks and all(s not in DERIVED and set(selector_kinds(s)) == {Kind.TRACK} for s in kinds)
    full = cv.layers.masks.get(Kind.TRACK)
    if ids is None or full is None or not only_tracks or not colours:
        yield cv
        return
    shared = {k: v for k, v in cv._masks.items() if k == ("<granulation>",)}  # the paper is the same paper
    for k in range(1, int(ids.max()) + 1):
        mask = np.where(ids == k, full, np.uint8(0))
        layers = replace(cv.layers, masks={**cv.layers.masks, Kind.TRACK: mask})
        palette = {**cv.palette, "track": colours[(k - 1) % len(colours)]}
        yield replace(cv, layers=layers, palette=palette, _masks=dict(shared))
