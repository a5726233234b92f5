"""Line and mark effects: outlines, hatching, stipple, trees, ripples, halftone, rhumb lines.

Like the area effects (effects.py) they work band by band where the work is the same pixel by pixel, and take
the noise as a Field (app/styles/noise.py) computed a band at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.render import semantic as sem
from app.styles import strokes
from app.styles.canvas import DERIVED, Canvas, as_coverage, selector_kinds, sub_box
from app.styles.filters import bands, bbox, blur, each_band, edge_line, isoline, smoothstep
from app.styles.noise import Field, fractal_field
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
        a = cv.layers.lineart
        if width > 1.2:
            a = blur(as_coverage(a), width / 2.5)
            _scale_clip(a, width)
    elif p["source"] == "borders":
        a = _borders(cv, rng, p["kinds"], width, p["wobble"])
        if a is None:
            return
    else:
        pad = width + 4
        region = select_region(cv, p["kinds"], pad) if p["wobble"] > 0 else cv.region8(p["kinds"], pad)
        if region is None:
            return
        box, m = region  # float with a wobble (it is moved), else the uint8 coverage itself
        h, w = m.shape
        if p["wobble"] > 0:
            # Shift the contour sideways by a smooth random amount: a hand-drawn, wavering line.
            field = fractal_field(h, w, cv.px(40), rng, octaves=2)

            def waver(b: slice) -> None:
                n = field.part(b)
                n *= F32(0.08 * p["wobble"])
                m[b] += n
                np.clip(m[b], 0, 1, out=m[b])

            each_band(h, w, waver)
        cuts = [] if p["frame_edges"] else cut_sides(m, 2 + math.ceil(width))  # where the data is cut off
        a = edge_line(m, width)
        del m
        for band in cuts:
            a[band] = 0
    cv.blend(a, cv.colour(p["color"]), "normal", box, scale=p["opacity"])


def _scale_clip(a: np.ndarray, k: float) -> None:
    """a = clip(a * k, 0, 1), in place."""

    def clip_band(b: slice) -> None:
        a[b] *= F32(k)
        np.clip(a[b], 0, 1, out=a[b])

    each_band(*a.shape, clip_band)


def _borders(cv: Canvas, rng: np.random.Generator, kinds: list[str], width: float, wobble: float) -> np.ndarray | None:
    """The rasterizer's area borders of the selected kinds as coverage (0..1), `width` px wide, wavering."""
    wanted = {k for s in kinds if s not in DERIVED for k in selector_kinds(s)}
    if "all" in kinds or "land" in kinds:
        wanted = set(cv.layers.borders)
    found = [m for k, m in cv.layers.borders.items() if k in wanted]
    if not found:
        return None
    a8 = np.maximum.reduce(found) if len(found) > 1 else found[0]
    base = max(cv.px(sem.BORDER_WIDTH), 1.0)  # the width they were drawn at
    if wobble > 0:
        h, w = a8.shape
        shift = cv.px(1.5 * wobble)
        dx = fractal_field(h, w, cv.px(40), rng, octaves=2)
        dy = fractal_field(h, w, cv.px(40), rng, octaves=2)
        a = warp(a8, dx, dy, shift)
    else:
        a = as_coverage(a8)
    if width > base * 1.2:
        blur(a, width / 2.5, out=a)
        _scale_clip(a, width / base)
    elif width < base:
        a *= F32(width / base)
    return a


WARP_TILE = 128


def warp(a8: np.ndarray, dx: Field, dy: Field, shift: float) -> np.ndarray:
    """Coverage `a8` (uint8) sampled at (x + dx * shift, y + dy * shift), bilinearly, as float32 0..1; beyond the
    edges the edge pixels repeat. Only the tiles that can reach a covered pixel are computed (borders are thin
    lines: most of the picture samples nothing but zeros)."""
    h, w = a8.shape
    a = as_coverage(a8)
    out = np.zeros((h, w), F32)
    reach = max(_reach(dx), _reach(dy)) * shift + 2  # px: how far a pixel can sample from
    t = WARP_TILE
    th, tw = -(-h // t), -(-w // t)
    covered = np.zeros((th, tw), bool)  # tiles holding a covered pixel
    for i in range(th):
        cols = a8[i * t : (i + 1) * t].any(axis=0)
        covered[i] = np.pad(cols, (0, tw * t - w)).reshape(tw, t).any(axis=1)
    if not covered.any():
        return out
    k = math.ceil(reach / t)
    need = np.zeros_like(covered)
    for i, j in zip(*np.nonzero(covered), strict=True):
        need[max(i - k, 0) : i + k + 1, max(j - k, 0) : j + k + 1] = True
    x_all = np.arange(w, dtype=F32)
    y_all = np.arange(h, dtype=F32)
    for i, j in zip(*np.nonzero(need), strict=True):
        rs, cs = slice(i * t, min((i + 1) * t, h)), slice(j * t, min((j + 1) * t, w))
        ddx = dx.part(rs, cs)
        ddx *= F32(shift)
        ddy = dy.part(rs, cs)
        ddy *= F32(shift)
        x = x_all[None, cs] + ddx
        y = y_all[rs, None] + ddy
        np.clip(x, 0, w - 1, out=x)
        np.clip(y, 0, h - 1, out=y)
        x0 = np.minimum(x.astype(np.intp), w - 2 if w > 1 else 0)
        y0 = np.minimum(y.astype(np.intp), h - 2 if h > 1 else 0)
        fx, fy = x - x0, y - y0
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        top = a[y0, x0] * (F32(1) - fx) + a[y0, x1] * fx
        bottom = a[y1, x0] * (F32(1) - fx) + a[y1, x1] * fx
        out[rs, cs] = top * (F32(1) - fy) + bottom * fy
    return out


def _reach(f: Field) -> float:
    """The largest |value| the field takes (bilinear interpolation stays within its grid's range)."""
    g = f.up.small if hasattr(f.up, "small") else f.up.a
    scale = float(f.inv_std) if f.inv_std is not None else 1.0
    return max(abs(float(g.max()) - float(f.mean)), abs(float(g.min()) - float(f.mean))) * scale


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
    region = cv.region8(p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    wobble = fractal_field(h, w, cv.px(60), rng, octaves=2) if p["wobble"] > 0 else None
    d = None
    if p["fade"] > 0 or p["inset"] > 0:
        reach = cv.px(max(p["fade"], p["inset"] + 2))
        d = offshore_distance(cv, box, m, reach)
    breaks = fractal_field(h, w, cv.px(14), rng, octaves=2) if p["breaks"] > 0 else None
    c = cv.colour(p["color"])

    def rule(b: slice) -> None:
        sub = sub_box(box, b)
        coord = coords(sub, p["angle"])
        if wobble is not None:
            n = wobble.part(b)
            n *= F32(cv.px(p["wobble"]))
            coord += n
        width: np.ndarray | float = cv.px(p["width"])
        weight = as_coverage(m[b])
        if p["fade"] > 0:
            width = np.clip(F32(1) - d[b] / F32(cv.px(p["fade"])), 0, 1) * F32(width)
        if p["inset"] > 0:
            weight *= smoothstep(cv.px(p["inset"]), cv.px(p["inset"]) + 1.5, d[b])
        a = periodic_lines(coord, cv.px(p["spacing"]), width)
        if breaks is not None:
            a *= smoothstep(p["breaks"] - 0.6, p["breaks"] - 0.2, breaks.part(b) * 0.5)
        a *= weight
        cv.blend(a, c, "normal", sub, scale=p["opacity"])

    each_band(h, w, rule)


@effect("stipple", kinds=["forest"], color="ink", spacing=6.0, size=0.9, jitter=0.9, opacity=0.9, density=1.0)
def stipple(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Ink dots scattered over areas; `density` < 1 drops dots at random (lighter tone)."""
    if not cv.has(p["kinds"]):
        return
    h, w = cv.shape
    pts = strokes.jittered_points(cv.mask8(p["kinds"]), cv.px(p["spacing"]), p["jitter"], rng)
    pts = pts[rng.random(len(pts)) < p["density"]]
    radius = cv.px(p["size"]) * rng.uniform(0.7, 1.3, len(pts))
    cv.blend(strokes.dots(h, w, pts, radius), cv.colour(p["color"]), scale=p["opacity"])


@effect("trees", kinds=["forest"], color="ink", fill_color="paper", size=9.0, spacing=8.0, stroke=0.8, opacity=1.0)
def trees(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Hand-drawn little trees over wooded areas (old-world map forests)."""
    if not cv.has(p["kinds"]):
        return
    h = cv.shape[0]
    m = cv.mask8(p["kinds"])
    # Keep glyphs whole inside the area: test the point a crown-height above each trunk as well.
    pts = strokes.jittered_points(m, cv.px(p["spacing"]), 0.7, rng, threshold=0.6)
    up = np.clip(pts[:, 1] - cv.px(p["size"]), 0, h - 1).astype(np.intp)
    pts = pts[as_coverage(m[up, pts[:, 0].astype(np.intp)]) >= 0.5]

    def rgb8(c: str) -> tuple[int, int, int]:
        v = np.round(cv.colour(c) * 255).astype(int)
        return int(v[0]), int(v[1]), int(v[2])

    size, stroke = cv.px(p["size"]), cv.px(p["stroke"])
    # The glyphs are drawn on a layer of the box around the area only (a crown reaches 1.3 sizes above its trunk).
    box = bbox(m, 1.6 * size + 2 * stroke + 4)
    if box is None:
        return
    (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    layer = strokes.trees(y1 - y0, x1 - x0, pts, size, rgb8(p["fill_color"]), rgb8(p["color"]), stroke, rng,
                          origin=(x0, y0))  # fmt: skip
    o = F32(p["opacity"])
    rgb = cv.rgb[box]

    def lay(b: slice) -> None:
        alpha = as_coverage(layer[b, :, 3])
        premul = as_coverage(layer[b, :, :3])
        alpha *= o
        np.subtract(F32(1), alpha, out=alpha)
        px = rgb[b]
        px *= alpha[..., None]
        premul *= o
        px += premul

    each_band(y1 - y0, x1 - x0, lay)


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
    region = cv.region8(p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    n = int(p["count"])
    last = cv.px(p["first"] + (n - 1) * p["spacing"])
    d = offshore_distance(cv, box, m, last + cv.px(p["spacing"]) + 2)
    wobble = fractal_field(h, w, cv.px(50), rng, octaves=2) if p["wobble"] > 0 else None
    c = cv.colour(p["color"])

    def ring(b: slice) -> None:
        db = d[b]
        if wobble is not None:
            db += wobble.part(b) * F32(cv.px(p["wobble"]))
        a = np.zeros((b.stop - b.start, w), F32)
        for i in range(n):
            level = cv.px(p["first"] + i * p["spacing"])
            line = isoline(db, level, cv.px(p["width"]) * (0.6 + 0.4 * p["decay"] ** i))
            line *= F32(p["decay"] ** i)
            np.maximum(a, line, out=a)
        a *= as_coverage(m[b])
        cv.blend(a, c, "normal", sub_box(box, b), scale=p["opacity"])

    each_band(h, w, ring)


@effect("halftone", kinds=["water"], color="ink", spacing=6.0, angle=45.0, amount=0.5, fade=0.0, opacity=1.0)
def halftone(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Print-screen dots over areas; with `fade` the dots shrink away from the edge."""
    region = cv.region8(p["kinds"], 2)
    if region is None:
        return
    box, m = region
    s = cv.px(p["spacing"])
    d = offshore_distance(cv, box, m, cv.px(p["fade"])) if p["fade"] > 0 else None
    c = cv.colour(p["color"])

    def screen(b: slice) -> None:
        sub = sub_box(box, b)
        u = coords(sub, p["angle"]) * F32(1 / s)
        v = coords(sub, p["angle"] + 90) * F32(1 / s)
        u -= np.floor(u) + F32(0.5)
        v -= np.floor(v) + F32(0.5)
        dist = np.sqrt(u * u + v * v) * F32(s)
        del u, v
        tone = as_coverage(m[b])
        tone *= F32(p["amount"])
        if d is not None:
            tone *= np.clip(F32(1) - d[b] / F32(cv.px(p["fade"])), 0, 1)
        radius = np.sqrt(tone) * F32(s * 0.62)
        a = np.clip(radius - dist + F32(0.5), 0, 1) * smoothstep(0.02, 0.08, tone)
        cv.blend(a, c, "normal", sub, scale=p["opacity"])

    each_band(*m.shape, screen)


@effect("rhumb_lines", kinds=["sea"], color="ink", count=16, centres=2, width=0.5, opacity=0.35)
def rhumb_lines(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Portolan rhumb lines radiating from points out at sea."""
    region = cv.region8(p["kinds"], 2)
    if region is None:
        return
    box, m = region
    h, w = m.shape
    d = offshore_distance(cv, box, m, cv.px(200))
    # Keep the centres away from where the sea is cut off by the frame as well.
    by = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(F32)
    bx = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(F32)

    def keep_off_frame(b: slice) -> None:
        np.minimum(d[b], np.minimum(by[b, None], bx[None, :]), out=d[b])

    each_band(h, w, keep_off_frame)
    centres = []
    for _ in range(int(p["centres"])):
        # Pick among the open-water pixels farthest from land, away from earlier centres.
        top = float(d.max())
        if top < cv.px(12):
            break
        ys, xs = np.nonzero(d >= top * 0.7)
        i = int(rng.integers(len(ys)))
        centres.append((float(xs[i]), float(ys[i])))
        xx = np.arange(w, dtype=F32)[None, :] - xs[i]
        for b in bands(h, w):
            yy = np.arange(b.start, b.stop, dtype=F32)[:, None] - ys[i]
            d[b][xx * xx + yy * yy < F32(min(h, w) * 0.35) ** 2] = 0
    if not centres:
        return
    rays = strokes.rays(h, w, centres, int(p["count"]), cv.px(p["width"]))
    c = cv.colour(p["color"])

    def ray(b: slice) -> None:
        a = as_coverage(rays[b])
        a *= as_coverage(m[b])
        cv.blend(a, c, "normal", sub_box(box, b), scale=p["opacity"])

    each_band(h, w, ray)
