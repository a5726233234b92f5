"""Where the map is quiet: the pixels of data that furniture must leave visible, and the search for the place
where a box of furniture hides the least of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.mapdata.model import ROAD_KINDS, Kind
from app.render.textlayout import Box

DRAWN = 64  # coverage (of 255) from which a pixel counts as drawn
# Kinds whose every drawn pixel is data: lines, points and buildings. Broad fills (sea, admin areas, parks,
# woods, lakes) count by their outlines only — the line art holds those — so a cartouche may sit on the sea.
SOLID_KINDS = frozenset(ROAD_KINDS | {Kind.RAIL, Kind.WATERWAY, Kind.TRACK, Kind.POI, Kind.BUILDING})
HARD_KINDS = frozenset({Kind.TRACK})  # never covered while any other place is free of them


def data_masks(layers) -> tuple[np.ndarray, np.ndarray]:
    """(busy, hard): HxW bool masks of the data pixels in `layers` (app.render.layers.Layers) and of those that
    must never be covered (GPS tracks)."""
    busy = layers.lineart > DRAWN
    hard = np.zeros_like(busy)
    for kind, m in layers.masks.items():
        if kind in SOLID_KINDS:
            busy |= m > DRAWN
        if kind in HARD_KINDS:
            hard |= m > DRAWN
    for m in layers.marks.values():  # lines and points of data without map tags
        busy |= m > DRAWN
    return busy, hard


def detail_mask(image: np.ndarray) -> np.ndarray:
    """HxW bool: where a painted image has detail (a strong local gradient), for when no layers are at hand."""
    gray = image.astype(np.float32).mean(axis=2)
    grad = np.zeros(gray.shape, np.float32)
    grad[:-1, :] += np.abs(np.diff(gray, axis=0))
    grad[:, :-1] += np.abs(np.diff(gray, axis=1))
    return grad > 24.0


def _integral(mask: np.ndarray) -> np.ndarray:
    out = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1, out=out[1:, 1:])
    return out


@dataclass
class Candidate:
    x: float  # top-left corner
    y: float
    covered: int  # data pixels under the box (gap included)
    hard: int  # track pixels under it
    rank: float  # preference: lower is a more usual place

    @property
    def quiet_key(self) -> tuple:
        return (self.hard > 0, self.covered, self.rank)


class QuietMap:
    """Box sums over the data masks (summed-area tables), for scoring many placements at once."""

    def __init__(self, busy: np.ndarray | None, hard: np.ndarray | None, size: tuple[int, int]) -> None:
        W, H = size
        self.size = size
        self._busy = _integral(busy) if busy is not None else None
        self._hard = _integral(hard) if hard is not None and hard.any() else None
        self.total = int(self._busy[-1, -1]) if self._busy is not None else 0
        self.W, self.H = W, H

    @classmethod
    def of(cls, size: tuple[int, int], *, layers=None, image: np.ndarray | None = None) -> QuietMap:
        if layers is not None:
            return cls(*data_masks(layers), size)
        if image is not None:
            return cls(detail_mask(image), None, size)
        return cls(None, None, size)

    def _sums(self, table: np.ndarray | None, x0, y0, x1, y1) -> np.ndarray:
        if table is None:
            return np.zeros(np.shape(x0), np.int64)
        c0 = np.clip(np.floor(x0).astype(int), 0, self.W)
        r0 = np.clip(np.floor(y0).astype(int), 0, self.H)
        c1 = np.clip(np.ceil(x1).astype(int), 0, self.W)
        r1 = np.clip(np.ceil(y1).astype(int), 0, self.H)
        return table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0]

    def covered(self, box: Box, gap: float = 0.0) -> tuple[int, int]:
        """(data pixels, track pixels) inside `box` grown by `gap`."""
        x0, y0, x1, y1 = (np.array([v]) for v in box)
        args = (x0 - gap, y0 - gap, x1 + gap, y1 + gap)
        return int(self._sums(self._busy, *args)[0]), int(self._sums(self._hard, *args)[0])

    def candidates(
        self,
        w: float,
        h: float,
        area: Box,
        corners: Sequence[str],
        taken: Sequence[Box] = (),
        gap: float = 0.0,
    ) -> list[Candidate]:
        """Every placement of a w×h box on a grid inside `area` that keeps clear of the `taken` boxes, scored;
        `corners` are the preferred corners, most preferred first ("top-left", "bottom-right", …)."""
        ax0, ay0, ax1, ay1 = area
        if w > ax1 - ax0 or h > ay1 - ay0:
            return []
        step = max(4.0, min(self.W, self.H) / 48.0)
        xs = np.linspace(ax0, ax1 - w, max(2, int(np.ceil((ax1 - ax0 - w) / step)) + 1))
        ys = np.linspace(ay0, ay1 - h, max(2, int(np.ceil((ay1 - ay0 - h) / step)) + 1))
        X, Y = (v.ravel() for v in np.meshgrid(xs, ys))
        ok = np.ones(X.shape, bool)
        for tx0, ty0, tx1, ty1 in taken:
            ok &= (X + w + gap <= tx0) | (X - gap >= tx1) | (Y + h + gap <= ty0) | (Y - gap >= ty1)
        X, Y = X[ok], Y[ok]
        busy = self._sums(self._busy, X - gap, Y - gap, X + w + gap, Y + h + gap)
        hard = self._sums(self._hard, X - gap, Y - gap, X + w + gap, Y + h + gap)
        # Preference: distance from the nearest preferred corner, each later corner a little further away.
        diag = float(np.hypot(self.W, self.H))
        rank = np.full(X.shape, np.inf)
        for i, corner in enumerate(corners):
            cx = ax0 if "left" in corner else ax1 - w
            cy = ay0 if "top" in corner else ay1 - h
            rank = np.minimum(rank, np.hypot(X - cx, Y - cy) / diag + 0.05 * i)
        rows = zip(X.tolist(), Y.tolist(), busy.tolist(), hard.tolist(), rank.tolist())
        return [Candidate(x, y, b, k, r) for x, y, b, k, r in rows]

    def allowance(self) -> float:
        """Data pixels one piece of furniture may hide and still count as on a quiet place."""
        return 0.001 * self.total


def best_place(qm: QuietMap, cands: list[Candidate]) -> tuple[Candidate | None, bool]:
    """(the chosen candidate, whether it is quiet): the most usual quiet place, else the least covering one."""
    if not cands:
        return None, False
    allow = qm.allowance()
    quiet = [c for c in cands if c.hard == 0 and c.covered <= allow]
    if quiet:  # the most usual place; one hiding a little data counts as a bit further from the corner
        return min(quiet, key=lambda c: c.rank + 0.15 * c.covered / max(allow, 1.0)), True
    return min(cands, key=lambda c: c.quiet_key), False
