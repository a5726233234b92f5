"""The painter's effects: one function per effect, registered by name (ground and area effects
here; line and mark effects in marks.py, the registry in registry.py).

A style's effect chain names effects and gives parameters; lengths are px at a 1024-px short
side (scaled with the image). Each effect gets the canvas and its own seeded Generator and works
in place on the canvas' float32 RGB buffer, band by band where its work is the same pixel by pixel (so a
print-size canvas needs no full-size temporaries). Parameter types are declared by the defaults given to
`@effect`, which is also what the style catalog validates against:

- a parameter named `color` or ending in `_color` takes a palette key or '#rrggbb';
- `kinds` takes a list of Kind values or layer names (water, green, roads, major_roads, minor_roads,
  lines, buildings, inland_water...: app/mapdata/layers.py) or derived selections (land, all, and marks:
  the lines and points alone of data without map tags, kinds admin and other).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.mapdata.model import KIND_ORDER, Kind
from app.styles import marks  # noqa: F401  (registers the line and mark effects)
from app.styles import relief as terrain
from app.styles.canvas import DERIVED, Canvas, as_coverage, selector_kinds, sub_box
from app.styles.filters import Blurred, bbox, blur, each_band, smoothstep, smoothstep_
from app.styles.noise import Field, fibres, fractal_field, fractal_noise, grain_field
from app.styles.registry import (
    EFFECTS,
    Effect,
    effect,
    kind_colour,
    offshore_distance,
    periodic_lines,
)

__all__ = ["EFFECTS", "Effect", "effect"]

F32 = np.float32


# ---------------------------------------------------------------- ground


@effect("background", color="paper")
def background(cv: Canvas, rng: np.random.Generator, *, color: str) -> None:
    """Flat fill of the whole canvas."""
    cv.rgb[:] = cv.colour(color)


@effect("paper", mottle=0.05, mottle_scale=260.0, grain=0.03, grain_size=1.0, fibres=0.0, fibre_color="ink")
def paper(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Paper texture over everything painted so far: cloudy mottle, tooth and fibres."""
    h, w = cv.shape
    mottle = fractal_field(h, w, cv.px(p["mottle_scale"]), rng, octaves=4) if p["mottle"] > 0 else None
    tooth = grain_field(h, w, cv.px(p["grain_size"]), rng) if p["grain"] > 0 else None

    def texture(b: slice) -> None:
        t = np.ones((b.stop - b.start, w), F32)
        if mottle is not None:
            n = mottle.part(b)
            n *= F32(p["mottle"] * 0.5)
            t += n
        if tooth is not None:
            t += (tooth.part(b) if isinstance(tooth, Field) else tooth[b]) * F32(p["grain"] * 0.5)
        cv.rgb[b] *= t[..., None]

    each_band(h, w, texture)
    tooth = None  # let go of it (the band function holds the name)
    if p["fibres"] > 0:
        cv.blend(fibres(h, w, cv.unit, rng), cv.colour(p["fibre_color"]), "multiply", scale=p["fibres"])


@effect("tint", color="paper", amount=0.3, saturation=1.0)
def tint(cv: Canvas, rng: np.random.Generator, *, color: str, amount: float, saturation: float) -> None:
    """Colour grade: change saturation, then tone towards a colour (sepia, cyanotype...)."""
    weights = (F32(0.299), F32(0.587), F32(0.114))
    c = cv.colour(color)
    scale = c / F32(max(float(c @ np.array([0.299, 0.587, 0.114])), 1e-3))
    s, a = F32(saturation), F32(amount)

    def grade(b: slice) -> None:
        rgb = cv.rgb[b]
        lum = rgb[..., 0] * weights[0]
        lum += rgb[..., 1] * weights[1]
        lum += rgb[..., 2] * weights[2]
        for ch in range(3):
            plane = rgb[..., ch]
            if saturation != 1.0:  # plane = lum + s * (plane - lum)
                plane -= lum
                plane *= s
                plane += lum
            if amount > 0:  # plane += a * (lum * scale - plane)
                plane *= F32(1) - a
                plane += lum * (a * F32(scale[ch]))

    each_band(*cv.shape, grade)


@effect("vignette", color="ink", strength=0.3, radius=0.7, noise=0.3)
def vignette(cv: Canvas, rng: np.random.Generator, *, color: str, strength: float, radius: float, noise: float) -> None:
    """Darkened, unevenly burnt edges."""
    h, w = cv.shape
    y = np.linspace(-1, 1, h, dtype=F32)[:, None]
    x = np.linspace(-1, 1, w, dtype=F32)[None, :]
    x2 = x * x
    field = fractal_field(h, w, cv.px(300), rng, octaves=3) if noise > 0 else None
    c = cv.colour(color)

    def burn(b: slice) -> None:
        r = np.sqrt(x2 + y[b] * y[b])
        if field is not None:
            n = field.part(b)
            n *= F32(noise * 0.12)
            r += n
        cv.blend(smoothstep_(radius, 1.45, r), c, "multiply", (b, slice(None)), scale=strength)

    each_band(h, w, burn)


@effect("stains", color="ink", count=3, size=150.0, strength=0.1)
def stains(cv: Canvas, rng: np.random.Generator, *, color: str, count: int, size: float, strength: float) -> None:
    """Coffee-ring stains: a faint blot with a darker, ragged rim."""
    h, w = cv.shape
    c = cv.colour(color)
    for _ in range(int(count)):
        r = cv.px(size) * rng.uniform(0.5, 1.3)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0, x1 = max(0, int(cx - 1.4 * r)), min(w, int(cx + 1.4 * r))
        y0, y1 = max(0, int(cy - 1.4 * r)), min(h, int(cy + 1.4 * r))
        if x1 <= x0 or y1 <= y0:
            continue
        yy = np.arange(y0, y1, dtype=F32)[:, None] - F32(cy)
        xx = np.arange(x0, x1, dtype=F32)[None, :] - F32(cx)
        d = np.sqrt(xx * xx + yy * yy) / F32(r)
        d += fractal_noise(y1 - y0, x1 - x0, r * 0.6, rng, octaves=3) * F32(0.06)
        blot = smoothstep(1.0, 0.9, d) * F32(0.35) + np.exp(-(((d - F32(0.97)) / F32(0.03)) ** 2)) * F32(0.8)
        a = blot * F32(strength * rng.uniform(0.6, 1.0))
        sub = cv.rgb[y0:y1, x0:x1]
        sub *= F32(1) - a[..., None] * (F32(1) - c)


@effect("grid", color="ink", spacing=64.0, width=0.6, major_every=4, major_width=1.3, opacity=0.3)
def grid(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Drafting grid: thin lines every `spacing`, heavier every `major_every` lines."""
    h, w = cv.shape
    s = cv.px(p["spacing"])
    lines = []
    for step, width in ((s, cv.px(p["width"])), (s * max(1, p["major_every"]), cv.px(p["major_width"]))):
        ys = periodic_lines(np.arange(h, dtype=F32) - F32(h / 2), step, width)
        xs = periodic_lines(np.arange(w, dtype=F32) - F32(w / 2), step, width)
        lines.append((ys, xs))
    c = cv.colour(p["color"])

    def rule(b: slice) -> None:
        a = np.zeros((b.stop - b.start, w), F32)
        for ys, xs in lines:
            np.maximum(a, np.maximum(ys[b, None], xs[None, :]), out=a)
        cv.blend(a, c, "normal", (b, slice(None)), scale=p["opacity"])

    each_band(h, w, rule)


# ---------------------------------------------------------------- areas


@effect("fill", kinds=["all"], color=None, opacity=1.0, mode="normal")
def fill(cv: Canvas, rng: np.random.Generator, *, kinds: list[str], color: str | None, opacity: float, mode: str):
    """Flat colour from masks: one colour for the union, or each kind its palette colour."""
    if color is not None:
        jobs = [(kinds, color)]
    else:
        present = set(cv.layers.masks)
        chosen: set = set()
        for s in kinds:
            if s == "all":
                chosen |= present
            elif s == "land":
                chosen |= present - {Kind.SEA}
            elif s != "marks":
                chosen |= set(selector_kinds(s))
        jobs = [([k.value], kind_colour(cv, k)) for k in sorted(chosen & present, key=KIND_ORDER.get)]
        if "marks" in kinds:  # lines and points of data without map tags: the palette's mark colour, or ink
            jobs.append((["marks"], next((c for c in ("mark", "ink") if c in cv.palette), None)))
    for sel, key in jobs:
        region = cv.region8(sel, 0) if key is not None else None
        if region is not None:
            box, m8 = region
            cv.blend(m8, cv.colour(key), mode, box, scale=opacity)


@effect("patchwork", kinds=["admin", "other"], color=None, amount=0.08)
def patchwork(cv: Canvas, rng: np.random.Generator, *, kinds: list[str], color: str | None, amount: float) -> None:
    """A gentle tint per area of the admin and other kinds, different from its neighbours' (census blocks,
    countries): lighter and darker by up to `amount`, or, with a `color`, more or less of that colour."""
    tones = cv.layers.tones
    if tones is None or not cv.has(kinds):
        return
    n = int(tones.max())
    if n == 0:
        return
    # Each class a different level of a scale of at least five, drawn at random: neighbours always differ,
    # by more or less, so a grid of blocks does not read as a checkerboard of two tints.
    scale = np.linspace(-1.0, 1.0, max(n, 5))
    lut = np.zeros(n + 1, F32)
    lut[1:] = rng.choice(scale, n, replace=False)
    if color is not None:  # from none of the colour (level -1) to `amount` of it (level 1)
        lut[1:] += 1
        lut[1:] *= 0.5
    lut *= F32(amount)
    box = bbox(tones, 1)
    if box is None:
        return
    m8, t8 = cv.mask8(kinds)[box], tones[box]
    c = cv.colour(color) if color is not None else None

    def tone(b: slice) -> None:
        f = lut[t8[b]]
        f *= as_coverage(m8[b])
        if c is None:
            f += F32(1)
            cv.rgb[sub_box(box, b)] *= f[..., None]
        else:
            cv.blend(f, c, "normal", sub_box(box, b))

    each_band(*t8.shape, tone)


@effect("shadow", kinds=["buildings"], color="ink", dx=1.5, dy=1.5, blur=1.0, opacity=0.3)
def shadow(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Soft drop shadow of the selected areas (put it before their fill)."""
    dx, dy = round(cv.px(p["dx"])), round(cv.px(p["dy"]))
    region = cv.region8(p["kinds"], abs(dx) + abs(dy) + cv.px(3 * p["blur"]) + 2)
    if region is None:
        return
    box, m8 = region
    h, w = m8.shape
    s = np.zeros((h, w), F32)
    np.multiply(m8[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)], F32(1 / 255),
                out=s[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)])  # fmt: skip
    blur(s, cv.px(p["blur"]), out=s)
    cv.blend(s, cv.colour(p["color"]), "multiply", box, scale=p["opacity"])


@effect(
    "wash",
    kinds=["water"],
    color=None,
    blur=6.0,
    noise=0.12,
    noise_scale=120.0,
    threshold=0.45,
    softness=0.08,
    keep=0.3,
    rim=0.6,
    rim_width=5.0,
    texture=0.3,
    opacity=1.0,
)
def wash(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Watercolour wash: blurred mask broken by noise, thresholded, textured, with a darker rim."""
    if not cv.has(p["kinds"]):
        return
    region = cv.region8(p["kinds"], cv.px(3 * p["blur"] + 2 * p["rim_width"] + 8))
    if region is None:
        return
    box, m8 = region
    h, w = m8.shape
    grain_ = cv.granulation()[box] if p["texture"] != 0 else None  # made (once) before this wash's own planes
    blurred = Blurred(m8, cv.px(p["blur"]))  # a band at a time: neither the float mask nor its blur is kept whole
    noise = fractal_field(h, w, cv.px(p["noise_scale"]), rng, octaves=5, persistence=0.55)
    thr, soft = p["threshold"], max(p["softness"], 1e-3)
    alpha = np.empty((h, w), F32)

    def spread(b: slice) -> None:
        f = blurred.part(b)
        # Keep part of the crisp shape so thin features (streams, lanes) survive the blur.
        t = as_coverage(m8[b])
        t -= f
        t *= F32(p["keep"])
        f += t
        n = noise.part(b)
        n *= F32(p["noise"])
        f += n
        alpha[b] = smoothstep_(thr - soft, thr + soft, f)

    each_band(h, w, spread)
    blurred = noise = None  # let go of them (the band function holds the names)
    # Pigment pools at the wet edge: the band just inside the shape where the blurred alpha drops.
    soft_alpha = Blurred(alpha, cv.px(p["rim_width"])) if p["rim"] != 0 else None
    colour = cv.colour(p["color"] or _first_colour(cv, p["kinds"]))
    rgb = cv.rgb[box]

    def lay(b: slice) -> None:
        ab = alpha[b]
        count = np.count_nonzero(ab)
        if not count:
            return  # no pigment in this band
        dense = count >= ab.size // 4
        at = (slice(None), slice(None)) if dense else np.nonzero(ab)  # the whole band (views), or its pixels
        ab = ab[at]
        if grain_ is not None:
            density = grain_[b][at] * F32(p["texture"])
            density += F32(1)
        else:
            density = np.ones(ab.shape, F32)
        if soft_alpha is not None:
            rim = soft_alpha.part(b)[at]
            np.subtract(ab, rim, out=rim)
            np.clip(rim, 0, 1, out=rim)
            rim *= F32(2.2 * p["rim"])
            density += rim
        density *= ab
        density *= F32(p["opacity"])
        px = rgb[b][at]
        _glaze(px, density, colour)
        if not dense:  # px is a copy of the covered pixels
            rgb[b][at] = px

    each_band(h, w, lay)


@effect(
    "relief",
    draw="shade",
    kinds=["land"],
    color="ink",
    opacity=0.5,
    light_color="paper",
    highlight=0.0,
    blur=0.0,
    contrast=1.0,
    noise=0.0,
    noise_scale=200.0,
    texture=0.0,
    interval=0.0,
    gap=6.0,
    index_every=5,
    width=0.6,
    index_width=1.2,
    spacing=5.0,
    length=7.0,
    min_slope=6.0,
)
def relief(cv: Canvas, rng: np.random.Generator, **p: Any) -> None:
    """Terrain relief (render --terrain): a watercolour wash, hachures, contour lines or a plain shade of the hills.

    draw = "wash": shadows glazed in `color` (and lit slopes in `light_color` by `highlight`), blurred, broken by
    noise and the paper's granulation; "shade": the hillshade laid over by multiplying; "contours": lines every
    `interval` m (0: chosen from the slopes, `gap` px apart), every `index_every`-th heavier; "hachure": strokes
    down the fall line, `spacing` apart, heavier on steep and shadowed slopes. Never on level water.
    """
    r = cv.layers.relief
    if r is None:
        return
    area = terrain.where(cv, p["kinds"])
    c = cv.colour(p["color"])
    if p["draw"] == "contours":
        lines, _ = terrain.contours(cv, r, interval=p["interval"], gap=p["gap"], index_every=p["index_every"],
                                    width=p["width"], index_width=p["index_width"])  # fmt: skip
        lines *= area
        lines *= F32(p["opacity"])
        cv.blend(lines, c)
        return
    if p["draw"] == "hachure":
        marks_ = terrain.hachures(cv, r, rng, spacing=p["spacing"], length=p["length"], width=p["width"],
                                  min_slope=p["min_slope"], area=area)  # fmt: skip
        marks_ *= area
        marks_ *= F32(p["opacity"])
        cv.blend(marks_, c)
        if p["highlight"] <= 0:
            return
    dark, light = terrain.shading(cv, r, blur_px=cv.px(p["blur"]), contrast=p["contrast"])
    if p["noise"] > 0 or p["texture"] > 0:
        h, w = cv.shape
        mod = np.ones((h, w), F32)
        if p["noise"] > 0:
            mod += fractal_noise(h, w, cv.px(p["noise_scale"]), rng, octaves=4) * F32(p["noise"])
        if p["texture"] > 0:
            mod += cv.granulation() * F32(p["texture"])
        np.clip(mod, 0, 2, out=mod)
        dark *= mod
        light *= mod
        del mod
    dark *= area
    light *= area
    del area
    if p["draw"] == "hachure":  # the hachures carry the shadows; a faint light on the lit slopes only
        dark[:] = 0
    dark *= F32(p["opacity"])
    light *= F32(p["highlight"])
    if p["draw"] == "wash":
        glaze(cv.rgb, dark, c)
        if p["highlight"] > 0:
            glaze(cv.rgb, light, cv.colour(p["light_color"]))
    else:
        cv.blend(dark, c, "multiply")
        if p["highlight"] > 0:
            cv.blend(light, cv.colour(p["light_color"]))


def glaze(rgb: np.ndarray, density: np.ndarray, colour: np.ndarray) -> None:
    """Layer transparent pigment: colour ** density (Beer-Lambert), by two linear pieces.

    Density 1 gives the colour over the paper; up to 2 darkens further (pooled pigment). Band by band.
    """
    each_band(*density.shape, lambda b: _glaze(rgb[b], density[b], colour))


def _glaze(px: np.ndarray, d: np.ndarray, colour: np.ndarray) -> None:
    """`glaze` of pixels `px` (...x3, in place) by densities `d` (...)."""
    neg_k = -(F32(1) - np.asarray(colour, F32))
    f = np.minimum(d, F32(1))[..., None] * neg_k
    f += F32(1)
    if d.max(initial=0) > 1:  # pooled pigment
        g = np.clip(d - F32(1), 0, 1)[..., None] * neg_k
        g += F32(1)
        f *= g
    px *= f


def _first_colour(cv: Canvas, kinds: list[str]) -> str:
    for s in kinds:
        if s in cv.palette:
            return s
        for k in selector_kinds(s) if s not in DERIVED else ():
            key = kind_colour(cv, k)
            if key:
                return key
    return "ink"


@effect("shore", kinds=["water"], color="water", width=24.0, opacity=0.5, power=1.6)
def shore(cv: Canvas, rng: np.random.Generator, *, kinds: list[str], color: str, width: float, opacity, power):
    """Colour band along the inner edge of an area, fading away from the edge (old-map coast tint)."""
    region = cv.region8(kinds, 2)
    if region is None:
        return
    box, m = region
    d = offshore_distance(cv, box, m, cv.px(width))
    c = cv.colour(color)

    def tint_edge(b: slice) -> None:
        a = np.clip(F32(1) - d[b] / F32(cv.px(width)), 0, 1) ** F32(power)
        a *= as_coverage(m[b])
        cv.blend(a, c, "multiply", sub_box(box, b), scale=opacity)

    each_band(*m.shape, tint_edge)
