"""The painter's working state: float32 RGB buffer, masks by selector, colours, image scale.

Memory: the RGB buffer is the one full-size float32 array the painter keeps (0.84 GB at A1 300 dpi); masks are
the rasterizer's uint8 ones, combined when asked and never kept as float; `blend` works band by band.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from app.mapdata.layers import GROUPS as LAYER_GROUPS
from app.mapdata.layers import is_layer, kinds_of
from app.mapdata.model import Kind
from app.render.layers import Layers
from app.styles.filters import bbox, coverage, each_band
from app.styles.noise import Field, fractal_field, grain_field

F32 = np.float32
Box = tuple[slice, slice]
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

# Names a style may use in `kinds = [...]`: the layer names of app/mapdata/layers.py (the same names as
# `--layers`/`--hide` and the window's Layers panel), their singular/plural forms, and every Kind value.
GROUPS: dict[str, tuple[Kind, ...]] = LAYER_GROUPS
# Derived selections: "land" is everything that is not sea; "all" is the union of every mask; "marks" is the
# lines and points alone of the data without map tags (admin, other: a drawn route, plain points), which a
# style inks apart from those kinds' areas.
DERIVED = ("land", "all", "marks")


def is_colour(text: object) -> bool:
    return isinstance(text, str) and _HEX.fullmatch(text) is not None


def parse_colour(text: str) -> np.ndarray:
    """'#rgb' or '#rrggbb' → float32 RGB in [0, 1]."""
    m = _HEX.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not a colour")
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], F32) / F32(255)


def is_selector(name: str) -> bool:
    return name in DERIVED or is_layer(name)


def selector_kinds(name: str) -> tuple[Kind, ...]:
    return kinds_of(name)


@dataclass
class Canvas:
    layers: Layers
    palette: dict[str, str]
    rgb: np.ndarray  # HxWx3 float32, 0..1
    unit: float  # image px per style px (styles are written for a 1024-px short side)
    seed: int = 0
    _masks: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)  # kept textures (the granulation)

    @classmethod
    def start(cls, layers: Layers, palette: dict[str, str], seed: int = 0) -> Canvas:
        h, w = layers.height, layers.width
        rgb = np.empty((h, w, 3), F32)
        rgb[:] = parse_colour(palette.get("paper", palette.get("background", "#ffffff")))
        return cls(layers, dict(palette), rgb, min(h, w) / 1024.0, seed)

    @property
    def shape(self) -> tuple[int, int]:
        return self.layers.height, self.layers.width

    def px(self, style_px: float) -> float:
        """A length written in the style (px at a 1024-px short side) in image pixels."""
        return float(style_px) * self.unit

    def colour(self, value: str) -> np.ndarray:
        """A palette key or '#rrggbb' → float32 RGB."""
        if value in self.palette:
            value = self.palette[value]
        return parse_colour(value)

    def granulation(self) -> np.ndarray:
        """The paper's pigment-catching texture (zero mean, about ±1), the same for every wash."""
        tex = self._masks.get(("<granulation>",))
        if tex is None:
            h, w = self.shape
            rng = np.random.default_rng([self.seed & 0xFFFF_FFFF_FFFF_FFFF, 0x5EED])
            mottle = fractal_field(h, w, self.px(40), rng, octaves=4)
            tex = np.empty((h, w), F32)
            tooth = grain_field(h, w, self.px(1.6), rng)  # drawn before any band runs: the same draws in order

            def texture(b: slice) -> None:
                t = mottle.part(b)
                t *= F32(0.4)
                t += (tooth.part(b) if isinstance(tooth, Field) else tooth[b]) * F32(0.12)
                tex[b] = t

            each_band(h, w, texture)
            tooth = None  # let go of it (the band function holds the name)
            self._masks[("<granulation>",)] = tex
        return tex

    def has(self, selectors: list[str] | tuple[str, ...]) -> bool:
        present = set(self.layers.masks)

        def found(s: str) -> bool:
            if s == "marks":
                return bool(self.layers.marks)
            return s in DERIVED or any(k in present for k in selector_kinds(s))

        return any(found(s) for s in selectors)

    def mask8(self, selectors: list[str] | tuple[str, ...] | str) -> np.ndarray:
        """Union (max) of the coverage of the selected kinds, HxW uint8 0..255; may be a layer's own mask: do not
        modify."""
        if isinstance(selectors, str):
            selectors = (selectors,)
        found: list[np.ndarray] = []
        for s in selectors:
            if s == "land":
                sea = self.layers.masks.get(Kind.SEA)
                if sea is None:
                    return np.full(self.shape, 255, np.uint8)
                found.append(np.subtract(255, sea, dtype=np.uint8))
            elif s == "marks":
                found.extend(self.layers.marks.values())
            elif s == "all":
                found.extend(self.layers.masks.values())
            else:
                found.extend(m for k in selector_kinds(s) if (m := self.layers.masks.get(k)) is not None)
        if not found:
            return np.zeros(self.shape, np.uint8)
        if len(found) == 1:
            return found[0]
        acc = np.maximum(found[0], found[1])
        for m in found[2:]:
            np.maximum(acc, m, out=acc)
        return acc

    def mask(self, selectors: list[str] | tuple[str, ...] | str) -> np.ndarray:
        """Union (max) of the coverage of the selected kinds, float32 0..1 (a new array)."""
        return as_coverage(self.mask8(selectors))

    def region8(self, selectors: list[str] | tuple[str, ...], pad: float) -> tuple[Box, np.ndarray] | None:
        """`region` with the coverage as uint8 0..255 (a view: do not modify)."""
        if not self.has(selectors):
            return None
        m8 = self.mask8(selectors)
        box = bbox(m8, pad)
        return None if box is None else (box, m8[box])

    def region(self, selectors: list[str] | tuple[str, ...], pad: float) -> tuple[Box, np.ndarray] | None:
        """The box around the selected areas (grown by `pad` image px) and their coverage inside it (float32 0..1),
        or None when there are none."""
        found = self.region8(selectors, pad)
        return None if found is None else (found[0], as_coverage(found[1]))

    def blend(self, alpha: np.ndarray, colour: np.ndarray, mode: str = "normal", box=None, scale: float = 1.0) -> None:
        """Lay `colour` over the canvas (or over `box`, a pair of slices) with per-pixel opacity `alpha` times
        `scale`; `alpha` is float32 0..1, or uint8 coverage 0..255. Band by band: no full-size temporaries."""
        rgb = self.rgb if box is None else self.rgb[box]
        c = np.asarray(colour, F32)

        def lay(b: slice) -> None:
            a = alpha[b]
            if np.count_nonzero(a) < a.size // 4:  # sparse (a road, a line): only where there is something to lay
                rows, cols = np.nonzero(a)
                a, px = a[rows, cols], rgb[b][rows, cols]
                _lay(px, as_coverage(a) if a.dtype == np.uint8 else a, c, mode, scale)
                rgb[b][rows, cols] = px
            else:
                _lay(rgb[b], as_coverage(a) if a.dtype == np.uint8 else a, c, mode, scale)

        each_band(*alpha.shape, lay)

    def to_uint8(self) -> np.ndarray:
        """The finished picture as HxWx3 uint8. Works in place on `rgb` (the painting is over), band by band: no
        full-size float copy, which at A1 300 dpi would be 0.8 GB, and the same bytes as clipping a copy."""
        h, w = self.shape
        out = np.empty((h, w, 3), np.uint8)

        def convert(b: slice) -> None:
            px = np.clip(self.rgb[b], 0, 1, out=self.rgb[b])
            px *= F32(255)
            px += F32(0.5)
            out[b] = px  # truncates, like astype

        each_band(h, w, convert)
        return out


def _lay(px: np.ndarray, a: np.ndarray, c: np.ndarray, mode: str, scale: float) -> None:
    """Blend colour `c` over pixels `px` (...x3, in place) with opacity `a` (...) times `scale`."""
    if scale != 1.0:
        a = a * F32(scale)
    a = a[..., None]
    if mode == "multiply":  # px *= 1 - a * (1 - c)
        t = a * (F32(1) - c)
        np.subtract(F32(1), t, out=t)
        px *= t
    elif mode == "screen":  # px += a * (1 - px) * c
        t = F32(1) - px
        t *= a
        t *= c
        px += t
    else:  # px += a * (c - px)
        t = c - px
        t *= a
        px += t


def sub_box(box: Box | None, rows: slice) -> Box:
    """The part of `box` (None: the whole canvas) at `rows`, rows counted from the box's top."""
    if box is None:
        return rows, slice(None)
    top = box[0].start or 0
    return slice(top + rows.start, top + rows.stop), box[1]


as_coverage = coverage  # uint8 coverage 0..255 → float32 0..1 (a new array)
