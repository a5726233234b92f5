"""The procedural painter: runs a style's effect chain over the rasterized layers."""

from __future__ import annotations

import zlib

import numpy as np

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.render.imagery import lay_on_paper
from app.render.layers import Layers
from app.styles.canvas import Canvas
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
        fx.fn(cv, effect_rng(seed, spec.name, seen[spec.name]), **{**fx.defaults, **spec.params})
    cancel.check()
    out = cv.to_uint8()
    progress("paint", total, total, "done")
    return out
