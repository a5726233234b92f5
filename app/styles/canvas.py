"""The painter's working state: float32 RGB buffer, masks by selector, colours, image scale."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from app.mapdata.layers import GROUPS as LAYER_GROUPS
from app.mapdata.layers import is_layer, kinds_of
from app.mapdata.model import Kind
from app.render.layers import Layers
from app.styles.noise import fractal_noise, grain

F32 = np.float32
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
    _masks: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)

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
            tex = fractal_noise(h, w, self.px(40), rng, octaves=4) * F32(0.4)
            tex += grain(h, w, self.px(1.6), rng) * F32(0.12)
            self._masks[("<granulation>",)] = tex
        return tex

    def has(self, selectors: list[str] | tuple[str, ...]) -> bool:
        present = set(self.layers.masks)

        def found(s: str) -> bool:
            if s == "marks":
                return bool(self.layers.marks)
            return s in DERIVED or any(k in present for k in selector_kinds(s))

        return any(found(s) for s in selectors)

    def mask(self, selectors: list[str] | tuple[str, ...] | str) -> np.ndarray:
        """Union (max) of the coverage of the selected kinds, float32 0..1. Cached; do not modify."""
        if isinstance(selectors, str):
            selectors = (selectors,)
        key = tuple(selectors)
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        acc = np.zeros(self.shape, np.uint8)
        for s in key:
            if s == "land":
                sea = self.layers.masks.get(Kind.SEA)
                np.maximum(acc, 255 - sea if sea is not None else 255, out=acc)
            elif s == "marks":
                for m in self.layers.marks.values():
                    np.maximum(acc, m, out=acc)
            elif s == "all":
                for m in self.layers.masks.values():
                    np.maximum(acc, m, out=acc)
            else:
                for k in selector_kinds(s):
                    m = self.layers.masks.get(k)
                    if m is not None:
                        np.maximum(acc, m, out=acc)
        out = acc.astype(F32)
        out *= F32(1 / 255)
        self._masks[key] = out
        return out

    def blend(self, alpha: np.ndarray, colour: np.ndarray, mode: str = "normal", box=None) -> None:
        """Lay `colour` over the canvas (or over `box`, a pair of slices) with per-pixel opacity `alpha`."""
        rgb = self.rgb if box is None else self.rgb[box]
        for c in range(3):
            ch = rgb[..., c]
            if mode == "multiply":
                ch *= F32(1) - alpha * (F32(1) - colour[c])
            elif mode == "screen":
                ch += alpha * (F32(1) - ch) * colour[c]
            else:
                ch += alpha * (colour[c] - ch)

    def to_uint8(self) -> np.ndarray:
        """The finished picture as HxWx3 uint8. Works in place on `rgb` (the painting is over): no full-size
        float copy, which at A1 300 dpi would be 0.8 GB, and the same bytes as clipping a copy."""
        out = np.clip(self.rgb, 0, 1, out=self.rgb)
        out *= F32(255)
        out += F32(0.5)
        return out.astype(np.uint8)
