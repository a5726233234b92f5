"""Marks drawn with skia: dots, tree glyphs, straight lines. Each returns coverage or an RGBA layer."""

from __future__ import annotations

import math

import numpy as np
import skia

F32 = np.float32


def jittered_points(
    mask: np.ndarray, spacing: float, jitter: float, rng: np.random.Generator, threshold: float = 0.5
) -> np.ndarray:
    """Points on a jittered grid `spacing` px apart, kept where `mask` (float 0..1 or uint8 0..255) >= threshold;
    (N, 2) x, y, by row."""
    h, w = mask.shape
    spacing = max(spacing, 1.0)
    ys = np.arange(spacing / 2, h, spacing)
    xs = np.arange(spacing / 2, w, spacing)
    gx, gy = np.meshgrid(xs, ys)
    # Offset every other row by half a step so marks do not line up in columns.
    gx = gx + (np.arange(len(ys))[:, None] % 2) * spacing / 2
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    pts += rng.uniform(-0.5, 0.5, pts.shape) * jitter * spacing
    pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
    pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
    at = mask[pts[:, 1].astype(np.intp), pts[:, 0].astype(np.intp)]
    if at.dtype == np.uint8:  # coverage 0..255, compared as the float mask would be
        at = at.astype(F32) * F32(1 / 255)
    return pts[at >= threshold]


def _a8(h: int, w: int) -> tuple[np.ndarray, skia.Surface]:
    buf = np.zeros((h, w), np.uint8)
    return buf, skia.Surface.MakeRasterDirect(skia.ImageInfo.MakeA8(w, h), buf, w)


def dots(h: int, w: int, pts: np.ndarray, radius: np.ndarray | float) -> np.ndarray:
    """Filled round dots; uint8 coverage 0..255."""
    buf, surface = _a8(h, w)
    canvas = surface.getCanvas()
    radii = np.broadcast_to(np.asarray(radius, float), (len(pts),))
    # Group by rounded size: one drawPoints call per size.
    sizes = np.round(radii * 4) / 4
    for s in np.unique(sizes):
        sel = pts[sizes == s]
        paint = skia.Paint(AntiAlias=True, StrokeWidth=float(max(s * 2, 0.5)), StrokeCap=skia.Paint.kRound_Cap)
        canvas.drawPoints(skia.Canvas.kPoints_PointMode, [skia.Point(float(x), float(y)) for x, y in sel], paint)
    del canvas, surface
    return buf


def trees(
    h: int,
    w: int,
    pts: np.ndarray,
    size: float,
    fill: tuple[int, int, int],
    ink: tuple[int, int, int],
    stroke: float,
    rng: np.random.Generator,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Little deciduous-tree glyphs (round crown on a short trunk), painted back to front.

    Returns an HxWx4 uint8 premultiplied RGBA layer whose top left pixel is `origin` (x, y) of the picture the
    points are in.
    """
    layer = np.zeros((h, w, 4), np.uint8)
    surface = skia.Surface(layer)
    canvas = surface.getCanvas()
    canvas.translate(-origin[0], -origin[1])
    fill_paint = skia.Paint(AntiAlias=True, Color=skia.Color(*fill), Style=skia.Paint.kFill_Style)
    ink_paint = skia.Paint(
        AntiAlias=True,
        Color=skia.Color(*ink),
        Style=skia.Paint.kStroke_Style,
        StrokeWidth=stroke,
        StrokeCap=skia.Paint.kRound_Cap,
        StrokeJoin=skia.Paint.kRound_Join,
    )
    scale = rng.uniform(0.8, 1.2, len(pts)) * size
    rows = np.round(pts[:, 1] / max(size * 0.7, 1)).astype(int)
    order = np.argsort(pts[:, 1], kind="stable")
    for row in np.unique(rows[order]):
        crowns = skia.Path()
        lines = skia.Path()
        for i in order[rows[order] == row]:
            x, y, r = float(pts[i, 0]), float(pts[i, 1]), float(scale[i]) / 2
            oval = skia.Rect.MakeLTRB(x - r, y - 2.1 * r, x + r, y)
            crowns.addOval(oval)
            lines.addArc(oval, 160, 220)  # crown outline, open at the bottom
            lines.moveTo(x, y - 0.35 * r)
            lines.lineTo(x, y + 0.55 * r)  # trunk
            lines.moveTo(x + 0.2 * r, y - 0.6 * r)
            lines.quadTo(x + 0.6 * r, y - 0.9 * r, x + 0.55 * r, y - 1.45 * r)  # shading stroke
        canvas.drawPath(crowns, fill_paint)
        canvas.drawPath(lines, ink_paint)
    del canvas, surface
    return layer


def rays(h: int, w: int, centres: list[tuple[float, float]], count: int, width: float) -> np.ndarray:
    """Straight lines radiating from each centre to beyond the image edge (portolan rhumb lines); uint8 coverage."""
    buf, surface = _a8(h, w)
    canvas = surface.getCanvas()
    paint = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style, StrokeWidth=max(width, 0.4))
    reach = 2.0 * math.hypot(w, h)
    path = skia.Path()
    for cx, cy in centres:
        for k in range(count):
            a = 2 * math.pi * k / count
            path.moveTo(cx, cy)
            path.lineTo(cx + reach * math.cos(a), cy + reach * math.sin(a))
    canvas.drawPath(path, paint)
    del canvas, surface
    return buf
