"""The effect registry and helpers the effects share.

An effect is a function `fn(canvas, rng, **params)` registered with `@effect(name, **defaults)`;
the defaults declare the parameters and their types (the style catalog validates against them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.mapdata.model import Kind
from app.styles.canvas import GROUPS, Canvas
from app.styles.filters import (
    coverage,
    distance_factor,
    distance_from_small,
    downsample,
    each_band,
    line_coverage,
)

F32 = np.float32


@dataclass(frozen=True)
class Effect:
    name: str
    fn: Callable[..., None]
    defaults: dict[str, Any]
    doc: str


EFFECTS: dict[str, Effect] = {}


def effect(name: str, **defaults: Any) -> Callable:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        EFFECTS[name] = Effect(name, fn, defaults, (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return register


def kind_colour(cv: Canvas, kind: Kind) -> str | None:
    if kind.value in cv.palette:
        return kind.value
    for group, members in GROUPS.items():
        if kind in members and group in cv.palette:
            return group
    return None


def select_region(cv: Canvas, kinds: list[str], pad: float) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """The box around the selected areas (grown by `pad` image px) and their coverage inside it."""
    return cv.region(kinds, pad)


def coords(box: tuple[slice, slice], angle: float) -> np.ndarray:
    """Distance (px) along the normal of lines at `angle` degrees, for every pixel of the box."""
    a = math.radians(angle)
    ys = np.arange(box[0].start, box[0].stop, dtype=F32)[:, None] * F32(math.cos(a))
    xs = np.arange(box[1].start, box[1].stop, dtype=F32)[None, :] * F32(-math.sin(a))
    return ys + xs


def periodic_lines(coord: np.ndarray, spacing: float, width: np.ndarray | float) -> np.ndarray:
    """Anti-aliased lines of `width` every `spacing` px along `coord` (modifies coord)."""
    coord *= F32(1 / spacing)
    coord -= np.floor(coord)
    coord -= F32(0.5)
    np.abs(coord, out=coord)
    coord = F32(0.5) - coord  # distance to the nearest line, in spacings
    coord *= F32(spacing)
    return line_coverage(coord, width)


def cut_sides(m: np.ndarray, k: int) -> list[tuple[slice, slice]]:
    """Bands (k px deep, and everything beyond) along the sides where an area is cut off straight.

    A side of the area that runs along a row or column for a good part of its length is where
    the data stops (a sea clipped by the map's extent), not a real shore.
    """
    solid = m >= (128 if m.dtype == np.uint8 else 0.5)  # uint8 coverage: 128/255 is the first value >= 0.5
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    if not len(rows) or not len(cols):
        return []
    r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[-1]
    # The area must also be solid some way in from the side: a long straight road is not a cut.
    dy, dx = max(8, (r1 - r0) // 20), max(8, (c1 - c0) // 20)
    everything = slice(None)
    out = []

    def straight(edge: np.ndarray, inner: np.ndarray) -> bool:
        return int((edge & inner).sum()) >= max(16, 0.08 * len(edge))

    if straight(solid[r0 : r1 + 1, c0], solid[r0 : r1 + 1, min(c0 + dx, c1)]):
        out.append((everything, slice(0, c0 + k)))
    if straight(solid[r0 : r1 + 1, c1], solid[r0 : r1 + 1, max(c1 - dx, c0)]):
        out.append((everything, slice(max(c1 + 1 - k, 0), None)))
    if straight(solid[r0, c0 : c1 + 1], solid[min(r0 + dy, r1), c0 : c1 + 1]):
        out.append((slice(0, r0 + k), everything))
    if straight(solid[r1, c0 : c1 + 1], solid[max(r1 - dy, r0), c0 : c1 + 1]):
        out.append((slice(max(r1 + 1 - k, 0), None), everything))
    return out


def offshore_distance(cv: Canvas, box: tuple[slice, slice], m: np.ndarray, reach: float) -> np.ndarray:
    """Distance (px, capped at `reach`) from the land around the area `m` covers inside `box`.

    Where the data stops (see `cut_sides`) there is no shore, so ripples and shore tints do not
    follow the frame. `m` is float 0..1 or uint8 coverage.
    """
    land = np.empty(m.shape, F32)

    def invert(b: slice) -> None:
        np.subtract(F32(1), coverage(m[b]) if m.dtype == np.uint8 else m[b], out=land[b])

    each_band(*m.shape, invert)
    for band in cut_sides(m, 3 + math.ceil(reach / 32)):
        land[band] = 0
    f = distance_factor(reach)
    small = downsample(land, f)
    land = None  # the distance is upsampled from `small` (the band function holds the name)
    return distance_from_small(small, m.shape, f, reach)
