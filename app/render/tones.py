"""Tone classes of adjacent areas: each area of a patchwork (census blocks, countries) gets a class 1..n such
that areas that touch differ, so a style can vary their tint and neighbours stay apart."""

from __future__ import annotations

import numpy as np
import shapely
import skia

from app.render.skpath import build_path, polygon_parts

MAX_AREAS = 50_000  # more areas than this are too small for their tint to matter: no tones
CLASSES = 6  # greedy colouring of a planar map rarely needs more; more are used when it must
TOUCH_PX = 1.0  # areas closer than this touch (shared edges are simplified per area, so they may part a little)


def neighbours(polys: np.ndarray, distance: float = TOUCH_PX) -> np.ndarray:
    """(M, 2) pairs (a < b) of indices of areas that touch or nearly do."""
    if len(polys) < 2:
        return np.empty((0, 2), np.int64)
    a, b = shapely.STRtree(polys).query(polys, predicate="dwithin", distance=distance)
    keep = a < b
    return np.column_stack([a[keep], b[keep]]).astype(np.int64)


def colour_classes(n: int, pairs: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """Greedy graph colouring: a class (1..) per area 0..n-1 such that neighbours differ.

    Areas with more neighbours go first (Welsh-Powell), which keeps the count of classes low.
    """
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in pairs.tolist():
        adj[a].append(b)
        adj[b].append(a)
    out = np.zeros(n, np.uint8)
    for v in sorted(range(n), key=lambda v: (-len(adj[v]), v)):
        used = {int(out[u]) for u in adj[v]}
        out[v] = next(c for c in range(1, max(classes, len(used) + 1) + 1) if c not in used)
    return out


def tone_classes(geoms: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """HxW uint8: 0 off the areas, else the tone class of the area under the pixel (neighbours differ).

    Drawn without anti-aliasing, one path per class, so every pixel has exactly one class. None when there
    are no areas, or too many for a tint per area to matter.
    """
    polys = geoms[np.isin(shapely.get_type_id(geoms), [3, 6])]
    if not len(polys) or len(polys) > MAX_AREAS:
        return None
    cls = colour_classes(len(polys), neighbours(polys))
    rgba = np.zeros((height, width, 4), np.uint8)
    surface = skia.Surface(rgba, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
    canvas = surface.getCanvas()
    for c in np.unique(cls).tolist():
        canvas.drawPath(build_path(polygon_parts(polys[cls == c])), skia.Paint(Color=skia.Color(c, 0, 0, 255)))
    del surface
    return np.ascontiguousarray(rgba[..., 0])
