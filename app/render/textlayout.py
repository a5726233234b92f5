"""Laying text out as positioned glyphs: straight (anchored at a point) or along a line, plus the
collision index labels are checked against."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import skia

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (pixels, y down)

MAX_TURN_DEG = 28.0  # a glyph may turn at most this much against its neighbour on a curved street
MAX_TOTAL_TURN_DEG = 70.0


def boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class BoxIndex:
    """Axis-aligned boxes in a uniform grid: 'does this box touch anything placed?' in O(boxes nearby)."""

    def __init__(self, cell: float = 48.0) -> None:
        self.cell = float(cell)
        self.boxes: list[Box] = []
        self._grid: dict[tuple[int, int], list[int]] = defaultdict(list)

    def _cells(self, b: Box):
        c = self.cell
        for ix in range(math.floor(b[0] / c), math.floor(b[2] / c) + 1):
            for iy in range(math.floor(b[1] / c), math.floor(b[3] / c) + 1):
                yield ix, iy

    def hits(self, box: Box) -> bool:
        for key in self._cells(box):
            for j in self._grid.get(key, ()):
                if boxes_overlap(self.boxes[j], box):
                    return True
        return False

    def any_hits(self, boxes: list[Box]) -> bool:
        return any(self.hits(b) for b in boxes)

    def add(self, box: Box) -> None:
        self.boxes.append(box)
        i = len(self.boxes) - 1
        for key in self._cells(box):
            self._grid[key].append(i)


@dataclass
class GlyphRun:
    """A text shaped into glyphs (no complex shaping: one glyph per character) with its advances."""

    text: str
    font: skia.Font
    advances: np.ndarray  # px per glyph, letter spacing included
    ascent: float  # > 0, px above the baseline
    descent: float  # > 0, px below the baseline
    cap: float  # cap height, px

    @classmethod
    def make(cls, text: str, font: skia.Font, spacing_em: float = 0.0) -> GlyphRun:
        glyphs = font.textToGlyphs(text)
        adv = np.asarray(font.getWidths(glyphs), float) + spacing_em * font.getSize()
        m = font.getMetrics()
        cap = m.fCapHeight if m.fCapHeight > 0 else -m.fAscent * 0.7
        return cls(text, font, adv, -m.fAscent, m.fDescent, cap)

    @property
    def width(self) -> float:
        # The letter spacing after the last glyph is not part of the visible text.
        return float(self.advances.sum())

    @property
    def height(self) -> float:
        return self.ascent + self.descent


_CORNER_X = np.array([[0.0], [1.0], [1.0], [0.0]])


def _glyph_boxes(xforms: np.ndarray, run: GlyphRun, pad: float) -> list[Box]:
    """AABB of each rotated glyph cell (advance × ascent..descent), grown by `pad`."""
    cos, sin, tx, ty = xforms.T
    top, bot = -run.cap * 1.15, run.descent * 0.6
    x = _CORNER_X * run.advances  # the four corners (rows) of each glyph's cell (columns)
    ly = np.array([[top], [top], [bot], [bot]])
    xs = cos * x - sin * ly + tx
    ys = sin * x + cos * ly + ty
    out = np.stack([xs.min(0) - pad, ys.min(0) - pad, xs.max(0) + pad, ys.max(0) + pad], axis=1)
    return list(map(tuple, out.tolist()))


def straight(run: GlyphRun, x: float, y: float, align: str = "center", pad: float = 0.0) -> tuple[np.ndarray, Box]:
    """Glyph transforms for horizontal text whose baseline starts so the text is aligned at x ("left",
    "center", "right") with its cap-height middle on y; and its box grown by pad."""
    width = run.width
    x0 = {"left": x, "right": x - width}.get(align, x - width / 2)
    base = y + run.cap / 2
    starts = x0 + np.concatenate([[0.0], np.cumsum(run.advances)[:-1]])
    xf = np.column_stack([np.ones_like(starts), np.zeros_like(starts), starts, np.full_like(starts, base)])
    box = (x0 - pad, base - run.cap * 1.15 - pad, x0 + width + pad, base + run.descent * 0.6 + pad)
    return xf, box


def stacked(run: GlyphRun, x: float, y: float, breaks: list[int], pad: float = 0.0) -> tuple[np.ndarray, list[Box]]:
    """Horizontal text in centred lines, broken at the glyphs `breaks` (spaces: each is left invisible at the end
    of its line), the block's middle on (x, y); one box per line, grown by pad."""
    cuts = [0, *[b + 1 for b in breaks], len(run.advances)]
    step = run.cap * 1.15 + run.descent * 0.6 + run.cap * 0.45
    top = y - step * (len(cuts) - 2) / 2
    xf = np.zeros((len(run.advances), 4))
    boxes: list[Box] = []
    for line, (a, b) in enumerate(itertools.pairwise(cuts)):
        end = b - 1 if line < len(cuts) - 2 else b  # the break's space is not part of the line's width
        adv = run.advances[a:end]
        x0 = x - adv.sum() / 2
        base = top + line * step + run.cap / 2
        starts = x0 + np.concatenate([[0.0], np.cumsum(run.advances[a:b])[:-1]])
        xf[a:b] = np.column_stack([np.ones_like(starts), np.zeros_like(starts), starts, np.full_like(starts, base)])
        boxes.append((x0 - pad, base - run.cap * 1.15 - pad, x0 + adv.sum() + pad, base + run.descent * 0.6 + pad))
    return xf, boxes


def along_distances(coords: np.ndarray) -> np.ndarray:
    """The distance along the polyline `coords` at each of its points (what `along` takes as `cum`)."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def along(
    run: GlyphRun, coords: np.ndarray, start: float, pad: float = 0.0, cum: np.ndarray | None = None
) -> tuple[np.ndarray, list[Box]] | None:
    """Glyph transforms placing the text along a polyline from distance `start`, centred on the line and
    reading left to right (the line is reversed when it runs right to left). None when it bends too much.
    `cum`: `along_distances(coords)`, when the caller tries several starts on the same line."""
    if cum is None:
        cum = along_distances(coords)
    total = cum[-1]
    width = run.width
    if width > total:
        return None
    if np.interp(start + width, cum, coords[:, 0]) < np.interp(start, cum, coords[:, 0]):
        # would read upside down: flip the line
        coords = coords[::-1]
        cum = total - cum[::-1]
        start = total - start - width
    n = len(run.advances)
    centres = start + np.concatenate([[0.0], np.cumsum(run.advances)[:-1]]) + run.advances / 2
    half = np.maximum(run.advances / 2, run.font.getSize() * 0.35)
    at = np.concatenate([np.clip(centres - half, 0, total), np.clip(centres + half, 0, total), centres])
    px, py = np.interp(at, cum, coords[:, 0]), np.interp(at, cum, coords[:, 1])  # each glyph's ends and middle
    ang = np.arctan2(py[n : 2 * n] - py[:n], px[n : 2 * n] - px[:n])
    turns = np.degrees(np.abs((np.diff(ang) + np.pi) % (2 * np.pi) - np.pi))
    if turns.size and (turns.max() > MAX_TURN_DEG or turns.sum() > MAX_TOTAL_TURN_DEG):
        return None
    if np.any(np.abs(np.degrees(ang)) > 100.0):  # steep enough to read upside down in places
        return None
    cos, sin = np.cos(ang), np.sin(ang)
    # Local glyph point (adv/2, -cap/2) sits on the line: origin = mid - R·(adv/2, -cap/2).
    lx, ly = run.advances / 2, -run.cap / 2
    tx = px[2 * n :] - (cos * lx - sin * ly)
    ty = py[2 * n :] - (sin * lx + cos * ly)
    xf = np.column_stack([cos, sin, tx, ty])
    return xf, _glyph_boxes(xf, run, pad)


def text_blob(run: GlyphRun, xforms: np.ndarray) -> skia.TextBlob | None:
    xf = [skia.RSXform(float(c), float(s), float(x), float(y)) for c, s, x, y in xforms]
    return skia.TextBlob.MakeFromRSXform(run.text, xf, run.font)
