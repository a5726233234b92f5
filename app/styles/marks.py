"""Line and mark effects: outlines, hatching, stipple, trees, ripples, halftone, rhumb lines."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.render import semantic as sem
from app.styles import strokes
from app.styles.canvas import DERIVED, Canvas, selector_kinds
from app.styles.filters import blur, edge_line, isoline, smoothstep
from app.styles.noise import fractal_noise
from app.styles.registry import coords, cut_sides, effect, offshore_distance, periodic_lines, select_region

F32 = np.float32


@effect("outline", kinds=["all"], source="mask", color="ink", width=1.0, opacity=1.0, wobble=0.0, frame_edges=True)
def outline(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Ink lines along the edges of the selected areas, or the rasterizer's line art (source = "lineart"), or
    the outline of every single area of the admin and other kinds, borders between neighbours included
    (source = "borders": census blocks, countries).

    With `frame_edges = false` no line is drawn where an area is cut off straight by the map's extent.
    """
    width = cv.px(p["width"])
    box = None
    if p["source"] == "lineart":
        a = cv.layers.lineart.astype(F32) * F32(1 / 255)
        if width > 1.2:
            a = np.clip(blur(a, width / 2.5) * F32(width), 0, 1)
    elif p["source"] == "borders":
        a = _borders(cv, rng, p["kinds"], width, p["wobble"])
        if a is None:
            return
    else:
        region = select_region(cv, p["kinds"], width + 4)
        if region is None:
            return
        box, m = region
        h, w = m.shape
        if p["wobble"] > 0:
            # Shift the contour sideways by a smooth random amount: a hand-drawn, wavering line.
            m = np.clip(m + fractal_noise(h, w, cv.px(40), rng, octaves=2) * F32(0.08 * p["wobble"]), 0, 1)
        a = edge_line(m, width)
        if not p["frame_edges"]:  # no line where the data is cut off by the map's extent
            for band in cut_sides(m, 2 + math.ceil(width)):
                a[band] = 0
    cv.blend(a * F32(p["opacity"]), cv.colour(p["color"]), "normal", box)


def _borders(cv: Canvas, rng: np.random.Generator, kinds: list[str], width: float, wobble: float) -> np.ndarray | None:
    """The rasterizer's area borders of the selected kinds as coverage (0..1), `width` px wide, wavering."""
    wanted = {k for s in kinds if s not in DERIVED for k in selector_kinds(s)}
    if "all" in kinds or "land" in kinds:
        wanted = set(cv.layers.borders)
    found = [m for k, m in cv.layers.borders.items() if k in wanted]
    if not found:
        return None
    a = np.maximum.reduce(found).astype(F32) * F32(1 / 255)
    base = max(cv.px(sem.BORDER_WIDTH), 1.0)  # the width they were drawn at
    if wobble > 0:
        h, w = a.shape
        shift = F32(cv.px(1.5 * wobble))
        dx = fractal_noise(h, w, cv.px(40), rng, octaves=2) * shift
        dy = fractal_noise(h, w, cv.px(40), rng, octaves=2) * shift
        a = warp(a, dx, dy)
    if width > base * 1.2:
        a = np.clip(blur(a, width / 2.5) * F32(width / base), 0, 1)
    elif width < base:
        a *= F32(width / base)
    return a


def warp(a: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """`a` sampled at (x + dx, y + dy), bilinearly; beyond the edges the edge pixels repeat."""
    h, w = a.shape
    x = np.arange(w, dtype=F32)[None, :] + dx
    y = np.arange(h, dtype=F32)[:, None] + dy
    np.clip(x, 0, w - 1, out=x)
    np.clip(y, 0, h - 1, out=y)
    x0, y0 = np.minimum(x.astype(np.intp), w - 2 if w > 1 else 0), np.minimum(y.astype(np.intp), h - 2 if h > 1 else 0)
    fx, fy = x - x0, y - y0
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    top = a[y0, x0] * (F32(1) - fx) + a[y0, x1] * fx
    bottom = a[y1, x0] * (F32(1) - fx) + a[y1, x1] * fx
    return top * (F32(1) - fy) + bottom * fy


@effect(
    "hatch",
    kinds=["water"],
    color="ink",
    angle=0.0,
    spacing=5.0,
    width=0.7,
    opacity=0.8,
    fade=0.0,
    inset=0.0,
    breaks=0.0,
    wobble=0.5,
)
def hatch(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Parallel ink lines across areas; with `fade` they thin out away from the edge (engraved water)."""
    region = select_region(cv, p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    coord = coords(box, p["angle"])
    if p["wobble"] > 0:
        coord += fractal_noise(h, w, cv.px(60), rng, octaves=2) * F32(cv.px(p["wobble"]))
    width: np.ndarray | float = cv.px(p["width"])
    weight = m.copy()
    if p["fade"] > 0 or p["inset"] > 0:
        reach = cv.px(max(p["fade"], p["inset"] + 2))
        d = offshore_distance(cv, box, m, reach)
        if p["fade"] > 0:
            width = np.clip(F32(1) - d / F32(cv.px(p["fade"])), 0, 1) * F32(width)
        if p["inset"] > 0:
            weight *= smoothstep(cv.px(p["inset"]), cv.px(p["inset"]) + 1.5, d)
        del d
    a = periodic_lines(coord, cv.px(p["spacing"]), width)
    if p["breaks"] > 0:
        a *= smoothstep(p["breaks"] - 0.6, p["breaks"] - 0.2, fractal_noise(h, w, cv.px(14), rng, octaves=2) * 0.5)
    a *= weight
    cv.blend(a * F32(p["opacity"]), cv.colour(p["color"]), "normal", box)


@effect("stipple", kinds=["forest"], color="ink", spacing=6.0, size=0.9, jitter=0.9, opacity=0.9, density=1.0)
def stipple(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Ink dots scattered over areas; `density` < 1 drops dots at random (lighter tone)."""
    if not cv.has(p["kinds"]):
        return
    h, w = cv.shape
    pts = strokes.jittered_points(cv.mask(p["kinds"]), cv.px(p["spacing"]), p["jitter"], rng)
    pts = pts[rng.random(len(pts)) < p["density"]]
    radius = cv.px(p["size"]) * rng.uniform(0.7, 1.3, len(pts))
    cv.blend(strokes.dots(h, w, pts, radius) * F32(p["opacity"]), cv.colour(p["color"]))


@effect("trees", kinds=["forest"], color="ink", fill_color="paper", size=9.0, spacing=8.0, stroke=0.8, opacity=1.0)
def trees(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Hand-drawn little trees over wooded areas (old-world map forests)."""
    if not cv.has(p["kinds"]):
        return
    h, w = cv.shape
    m = cv.mask(p["kinds"])
    # Keep glyphs whole inside the area: test the point a crown-height above each trunk as well.
    pts = strokes.jittered_points(m, cv.px(p["spacing"]), 0.7, rng, threshold=0.6)
    up = np.clip(pts[:, 1] - cv.px(p["size"]), 0, h - 1).astype(np.intp)
    pts = pts[m[up, pts[:, 0].astype(np.intp)] >= 0.5]

    def rgb8(c: str) -> tuple[int, int, int]:
        v = np.round(cv.colour(c) * 255).astype(int)
        return int(v[0]), int(v[1]), int(v[2])

    size, stroke = cv.px(p["size"]), cv.px(p["stroke"])
    layer = strokes.trees(h, w, pts, size, rgb8(p["fill_color"]), rgb8(p["color"]), stroke, rng)
    alpha = layer[..., 3].astype(F32) * F32(1 / 255)
    premul = layer[..., :3].astype(F32) * F32(1 / 255)
    del layer
    o = F32(p["opacity"])
    cv.rgb *= (F32(1) - alpha * o)[..., None]
    cv.rgb += premul * o


@effect(
    "ripples",
    kinds=["water"],
    color="ink",
    count=4,
    first=4.0,
    spacing=6.0,
    width=0.8,
    opacity=0.7,
    decay=0.8,
    wobble=0.8,
)
def ripples(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Repeated offset outlines of the coast inside the water, each fainter than the last."""
    region = select_region(cv, p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    n = int(p["count"])
    last = cv.px(p["first"] + (n - 1) * p["spacing"])
    d = offshore_distance(cv, box, m, last + cv.px(p["spacing"]) + 2)
    if p["wobble"] > 0:
        d += fractal_noise(h, w, cv.px(50), rng, octaves=2) * F32(cv.px(p["wobble"]))
    a = np.zeros((h, w), F32)
    for i in range(n):
        level = cv.px(p["first"] + i * p["spacing"])
        np.maximum(
            a, isoline(d, level, cv.px(p["width"]) * (0.6 + 0.4 * p["decay"] ** i)) * F32(p["decay"] ** i), out=a
        )
    del d
    a *= m
    cv.blend(a * F32(p["opacity"]), cv.colour(p["color"]), "normal", box)


@effect("halftone", kinds=["water"], color="ink", spacing=6.0, angle=45.0, amount=0.5, fade=0.0, opacity=1.0)
def halftone(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Print-screen dots over areas; with `fade` the dots shrink away from the edge."""
    region = select_region(cv, p["kinds"], 2)
    if region is None:
        return
    box, m = region
    s = cv.px(p["spacing"])
    u = coords(box, p["angle"]) * F32(1 / s)
    v = coords(box, p["angle"] + 90) * F32(1 / s)
    u -= np.floor(u) + F32(0.5)
    v -= np.floor(v) + F32(0.5)
    dist = np.sqrt(u * u + v * v) * F32(s)
    del u, v
    tone = m * F32(p["amount"])
    if p["fade"] > 0:
        d = offshore_distance(cv, box, m, cv.px(p["fade"]))
        tone *= np.clip(F32(1) - d / F32(cv.px(p["fade"])), 0, 1)
    radius = np.sqrt(tone) * F32(s * 0.62)
    a = np.clip(radius - dist + F32(0.5), 0, 1) * smoothstep(0.02, 0.08, tone)
    cv.blend(a * F32(p["opacity"]), cv.colour(p["color"]), "normal", box)


@effect("rhumb_lines", kinds=["sea"], color="ink", count=16, centres=2, width=0.5, opacity=0.35)
def rhumb_lines(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Portolan rhumb lines radiating from points out at sea."""
    region = select_region(cv, p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    d = offshore_distance(cv, box, m, cv.px(200))
    # Keep the centres away from where the sea is cut off by the frame as well.
    by = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(F32)
    bx = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(F32)
    d = np.minimum(d, np.minimum(by[:, None], bx[None, :]))
    centres = []
    for _ in range(int(p["centres"])):
        # Pick among the open-water pixels farthest from land, away from earlier centres.
        top = float(d.max())
        if top < cv.px(12):
            break
        ys, xs = np.nonzero(d >= top * 0.7)
        i = int(rng.integers(len(ys)))
        centres.append((float(xs[i]), float(ys[i])))
        yy = np.arange(h, dtype=F32)[:, None] - ys[i]
        xx = np.arange(w, dtype=F32)[None, :] - xs[i]
        d = np.where(xx * xx + yy * yy < F32(min(h, w) * 0.35) ** 2, F32(0), d)
    if not centres:
        return
    a = strokes.rays(h, w, centres, int(p["count"]), cv.px(p["width"]))
    a *= m
    cv.blend(a * F32(p["opacity"]), cv.colour(p["color"]), "normal", box)
