"""Tone classes of adjacent areas: each area of a patchwork (census blocks, countries) gets a class 1..n such
that areas sharing an edge differ, so a style can vary their tint and neighbours stay apart."""

from __future__ import annotations

import numpy as np
import shapely
import skia

from app.render.skpath import build_path, polygon_parts

MAX_AREAS = 20_000  # more areas than this are too small for their tint to matter: no tones
CLASSES = 6  # greedy colouring of a planar map rarely needs more; a seventh is used when it must


def area_ids(geoms: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """HxW int32: 0 off the areas, else 1 + the index of the (multi)polygon covering the pixel (later on top).

    Drawn without anti-aliasing, so every pixel belongs to exactly one area. None when there are none or
    too many to draw one by one.
    """
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    if not polygonal.any() or polygonal.sum() > MAX_AREAS:
        return None
    rgba = np.zeros((height, width, 4), np.uint8)
    surface = skia.Surface(rgba, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
    canvas = surface.getCanvas()
    paint = skia.Paint(AntiAlias=False)
    for n, i in enumerate(np.flatnonzero(polygonal), start=1):
        paint.setColor(skia.Color(n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF, 255))
        canvas.drawPath(build_path(polygon_parts(geoms[i : i + 1])), paint)
    del surface
    ids = rgba[..., 0].astype(np.int32)
    ids |= rgba[..., 1].astype(np.int32) << 8
    ids |= rgba[..., 2].astype(np.int32) << 16
    return ids


def neighbours(ids: np.ndarray) -> np.ndarray:
    """(M, 2) unique pairs (a < b) of area ids that touch, side by side or one above the other."""
    pairs = []
    for a, b in ((ids[:, :-1], ids[:, 1:]), (ids[:-1, :], ids[1:, :])):
        edge = (a != b) & (a > 0) & (b > 0)
        lo, hi = np.minimum(a[edge], b[edge]), np.maximum(a[edge], b[edge])
        pairs.append(lo.astype(np.int64) << 32 | hi.astype(np.int64))
    packed = np.unique(np.concatenate(pairs))
    return np.column_stack([packed >> 32, packed & 0xFFFF_FFFF]).astype(np.int64)


def colour_classes(n: int, pairs: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """Greedy graph colouring: class (1..) per area id 1..n (index 0 unused), neighbours differ.

    Areas with more neighbours go first (Welsh-Powell), which keeps the count of classes low.
    """
    adj: list[list[int]] = [[] for _ in range(n + 1)]
    for a, b in pairs.tolist():
        adj[a].append(b)
        adj[b].append(a)
    out = np.zeros(n + 1, np.uint8)
    for v in sorted(range(1, n + 1), key=lambda v: (-len(adj[v]), v)):
        used = {int(out[u]) for u in adj[v]}
        out[v] = next(c for c in range(1, max(classes, len(used) + 1) + 1) if c not in used)
    return out


def tone_classes(geoms: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """HxW uint8: 0 off the areas, else the tone class of the area under the pixel (neighbours differ)."""
    ids = area_ids(geoms, width, height)
    if ids is None:
        return None
    lut = colour_classes(int(ids.max()), neighbours(ids))
    return lut[ids]
