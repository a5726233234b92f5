"""How a style paints the terrain (Layers.relief): shading, contour lines, hachures. Used by the `relief` effect
(app/styles/effects.py), which composites what these return.

Everything is computed on the relief's grid (a little coarser than the canvas) and brought up to the canvas, or
drawn straight onto it as vector strokes with skia (contours from contourpy, hachures along the fall line).
"""

from __future__ import annotations

import math

import numpy as np
import skia

from app.render.relief import FLAT, FLAT_WATER, Relief
from app.styles.canvas import Canvas
from app.styles.filters import blur

F32 = np.float32
NICE_INTERVALS = (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000)  # metres between contour lines
MIN_LOOP_PX = 12.0  # closed contours shorter than this (style px) are DEM noise, not hills


def where(cv: Canvas, kinds: list[str]) -> np.ndarray:
    """HxW float32 0..1: the selected areas, less level water (a lake or the sea has no relief to draw)."""
    m = cv.mask(kinds)  # a new array
    for k in FLAT_WATER:
        w = cv.layers.masks.get(k)
        if w is not None:
            m *= F32(1) - w.astype(F32) * F32(1 / 255)
    return m


def shading(cv: Canvas, r: Relief, *, blur_px: float, contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """(shadow, light), HxW float32 0..1: how far each pixel's hillshade falls below, or rises above, level ground.
    `contrast` > 1 deepens mid-tones (gamma on the shadow)."""
    s = r.shade
    if blur_px > 0:
        s = blur(s, blur_px / max(r.scale))
    dark = np.clip((F32(FLAT) - s) * F32(1 / FLAT), 0, 1)
    light = np.clip((s - F32(FLAT)) * F32(1 / (1 - FLAT)), 0, 1)
    if contrast != 1.0:
        dark **= F32(1 / max(contrast, 1e-3))
    return r.at_canvas(dark), r.at_canvas(light)


def auto_interval(r: Relief, gap_px: float) -> float:
    """A round contour interval (m) that keeps the lines at least `gap_px` apart on most of the map's slopes."""
    g = r.slope() * F32(r.meters_per_px)  # metres of climb per canvas px
    steep = float(np.percentile(g, 92)) if g.size else 0.0
    need = steep * gap_px
    for step in NICE_INTERVALS:
        if step >= need:
            return float(step)
    return float(NICE_INTERVALS[-1])


def contour_lines(r: Relief, step: float, min_loop: float = 0.0):
    """(level, (N, 2) canvas xy) of every contour line at multiples of `step` metres (from contourpy, on the lightly
    smoothed elevation); closed loops shorter than `min_loop` px left out."""
    import contourpy

    z = blur(r.elevation, 0.8)  # the DEM's terraces and noise make ragged lines
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    levels = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    if not levels:
        return
    sx, sy = r.scale
    gen = contourpy.contour_generator(z=z, line_type=contourpy.LineType.Separate)
    for lev in levels:
        for line in gen.lines(lev):
            xy = (np.asarray(line, float) + 0.5) * (sx, sy)
            if len(xy) < 2:
                continue
            if min_loop > 0 and np.allclose(xy[0], xy[-1]) and _length(xy) < min_loop:
                continue
            yield lev, xy


def _length(xy: np.ndarray) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum())


def _stroke(buf: np.ndarray, paths: list[tuple[skia.Path, float]]) -> None:
    """Stroke paths (each with its width in px) into an HxW uint8 coverage buffer, anti-aliased; a path thinner than
    half a pixel is drawn fainter instead of thinner."""
    h, w = buf.shape
    canvas = skia.Surface.MakeRasterDirect(skia.ImageInfo.MakeA8(w, h), buf, w).getCanvas()
    for path, lw in paths:
        paint = skia.Paint(AntiAlias=True, Style=skia.Paint.kStroke_Style, StrokeWidth=float(max(lw, 0.5)),
                           StrokeCap=skia.Paint.kRound_Cap, StrokeJoin=skia.Paint.kRound_Join)  # fmt: skip
        if lw < 0.5:
            paint.setAlphaf(float(max(lw, 0.05) / 0.5))
        canvas.drawPath(path, paint)


def contours(cv: Canvas, r: Relief, *, interval: float, gap: float, index_every: int, width: float,
             index_width: float) -> tuple[np.ndarray, float]:  # fmt: skip
    """Contour lines as HxW float32 coverage (index contours every `index_every`-th line heavier) and the interval
    used (metres; `interval` 0 = chosen from the slopes to keep lines `gap` style px apart)."""
    step = interval if interval > 0 else auto_interval(r, cv.px(gap))
    minor, index = skia.Path(), skia.Path()
    for lev, xy in contour_lines(r, step, cv.px(MIN_LOOP_PX)):
        target = index if index_every > 0 and round(lev / step) % index_every == 0 else minor
        target.addPoly([skia.Point(float(x), float(y)) for x, y in xy], bool(np.allclose(xy[0], xy[-1])))
    buf = np.zeros(cv.shape, np.uint8)
    _stroke(buf, [(minor, cv.px(width)), (index, cv.px(index_width))])
    return buf.astype(F32) * F32(1 / 255), step


def hachures(cv: Canvas, r: Relief, rng: np.random.Generator, *, spacing: float, length: float, width: float,
             min_slope: float, area: np.ndarray) -> np.ndarray:  # fmt: skip
    """Hachures the engraved way (Lehmann): rows of short strokes down the fall line, each row starting on a contour
    and reaching down towards the next, `spacing` px apart along it; a stroke is as long as the contours are far
    apart (short where the slope is steep) and heavier the steeper the ground and the more it is turned from the
    light. HxW float32 coverage."""
    h, w = cv.shape
    buf = np.zeros((h, w), np.uint8)
    # Rows of strokes one stroke length apart on the typical hillside: the strokes then reach from row to row.
    g = r.slope()
    sloped = g[g >= math.tan(math.radians(min_slope))]
    if not sloped.size:
        return buf.astype(F32)
    step = max(float(np.percentile(sloped, 60)) * r.meters_per_px * cv.px(length), 0.5)
    pitch = cv.px(spacing)
    seeds = []
    for row, (_, xy) in enumerate(contour_lines(r, step, cv.px(MIN_LOOP_PX))):
        seg = np.hypot(*np.diff(xy, axis=0).T)
        along = np.concatenate([[0.0], np.cumsum(seg)])
        if along[-1] < pitch:
            continue
        offset = (0.5 * pitch if row % 2 else 0.0) + rng.uniform(0, 0.25 * pitch)
        at = np.arange(offset, along[-1], pitch)
        seeds.append(np.column_stack([np.interp(at, along, xy[:, 0]), np.interp(at, along, xy[:, 1])]))
    if not seeds:
        return buf.astype(F32)
    pts = np.concatenate(seeds)
    pts += rng.normal(0, 0.12 * pitch, pts.shape)
    sx, sy = r.scale
    gh, gw = r.grid_shape

    def at(a: np.ndarray, xy: np.ndarray) -> np.ndarray:
        j = np.clip((xy[:, 0] / sx - 0.5).round().astype(np.intp), 0, gw - 1)
        i = np.clip((xy[:, 1] / sy - 0.5).round().astype(np.intp), 0, gh - 1)
        return a[i, j]

    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    pts = pts[inside]
    keep = area[pts[:, 1].astype(np.intp), pts[:, 0].astype(np.intp)] >= 0.5
    slope = at(r.slope(), pts[keep])
    pts = pts[keep]
    tilt = np.degrees(np.arctan(slope))
    keep = tilt >= min_slope
    pts, tilt, slope = pts[keep], tilt[keep], slope[keep]
    if len(pts) == 0:
        return buf.astype(F32)
    dark = np.clip((F32(FLAT) - at(r.shade, pts)) * F32(1 / FLAT), -1, 1)
    steep = np.clip((tilt - min_slope) / 40.0, 0, 1)
    widths = cv.px(width) * (0.25 + 0.75 * steep) * (0.7 + 0.7 * dark)
    run = step / np.maximum(slope * r.meters_per_px, 1e-6)  # px down to the next contour
    run = np.clip(run * 0.9, cv.px(length) * 0.4, cv.px(length) * 1.6)
    # Follow the fall line down in a few steps (strokes bend with the slope).
    lines, p = [pts], pts
    for _ in range(3):
        d = np.stack([-at(r.zx, p), -at(r.zy, p)], axis=1)  # downhill on the picture
        d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
        p = p + d * (run / 3)[:, None]
        lines.append(p)
    strokes = np.stack(lines, axis=1)  # (N, 4, 2), from the upper contour down
    bins = np.round(widths * 4) / 4
    paths = []
    for b in np.unique(bins):
        path = skia.Path()
        for line in strokes[bins == b].tolist():
            path.addPoly([skia.Point(x, y) for x, y in line], False)
        paths.append((path, float(b)))
    _stroke(buf, paths)
    return buf.astype(F32) * F32(1 / 255)
