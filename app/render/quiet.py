"""Where the map is quiet: the data that furniture must leave visible, and the search for the place where a box of
furniture hides the least of it.

The search is judged on a fixed working grid (WORK cells on the long side), not at the output's resolution, and
counts data by its length, not by its pixels: line widths do not scale exactly with the picture (a line is at least
a pixel wide), so line art covers 8% of a small preview and 5% of a print-size export, and pixel counts taken at
each resolution sent the furniture to different places. Each kind of data (a road class, the area outlines, …) is
brought to the grid by area-averaging and divided by its own stroke width there (estimated from the mask: twice
its area over its perimeter), which gives the length of line in each cell; that does not depend on the resolution,
so the same map at 1200×900 and 4960×3720 puts its furniture at the same relative places and sizes. Tracks, which
are never covered, are kept on the grid as a max (a cell holding any track pixel is track)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app import parallel
from app.mapdata.model import ROAD_KINDS, Kind
from app.render.textlayout import Box

DRAWN = 64  # coverage (of 255) from which a pixel counts as drawn
# Kinds whose every drawn pixel is data: lines, points and buildings. Broad fills (sea, admin areas, parks,
# woods, lakes) count by their outlines only — the line art holds those — so a cartouche may sit on the sea.
SOLID_KINDS = frozenset(ROAD_KINDS | {Kind.RAIL, Kind.WATERWAY, Kind.TRACK, Kind.POI, Kind.BUILDING})
HARD_KINDS = frozenset({Kind.TRACK})  # never covered while any other place is free of them
WORK = 512  # long side, in cells, of the grid on which quiet places are judged
BAND_ROWS = 256  # rows of the picture judged at a time


def data_rows(layers, r0: int, r1: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(busy, hard) for rows r0:r1 of the picture: the data in `layers` (app.render.layers.Layers) as uint8
    coverages, one per kind of line (each solid kind, each kind's marks, and the line art that is none of those: the
    outlines of areas), and the bool mask of what must never be covered (GPS tracks). Band by band, so that judging
    a print-size picture costs a few rows of memory, not full-size masks."""
    busy = [m[r0:r1] for kind, m in layers.masks.items() if kind in SOLID_KINDS]
    busy += [m[r0:r1] for m in layers.marks.values()]  # lines and points of data without map tags
    hard = np.zeros((r1 - r0, layers.width), bool)
    for kind, m in layers.masks.items():
        if kind in HARD_KINDS:
            hard |= m[r0:r1] > DRAWN
    drawn = np.zeros_like(hard)
    for m in busy:
        drawn |= m > DRAWN
    outlines = np.where(drawn, np.uint8(0), layers.lineart[r0:r1])
    return [outlines, *busy], hard


def detail_rows(image: np.ndarray, r0: int, r1: int) -> np.ndarray:
    """Rows r0:r1 of an HxW bool: where a painted image has detail (a strong local gradient), for when no layers are
    at hand (each row's gradient down is to the next row of the picture, as over the whole picture)."""
    rows = image[r0 : min(r1 + 1, image.shape[0])].astype(np.float32).mean(axis=2)
    grad = np.zeros((r1 - r0, rows.shape[1]), np.float32)
    down = np.abs(np.diff(rows, axis=0))
    grad[: len(down)] += down[: r1 - r0]
    grad[:, :-1] += np.abs(np.diff(rows[: r1 - r0], axis=1))
    return grad > 24.0


def detail_mask(image: np.ndarray) -> np.ndarray:
    """HxW bool: where a painted image has detail (a strong local gradient), for when no layers are at hand."""
    return detail_rows(image, 0, image.shape[0])


def work_shape(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the working grid for a picture of `size`: WORK cells on its long side, its aspect kept
    (a smaller picture is its own grid)."""
    W, H = size
    if max(W, H) <= WORK:
        return W, H
    k = WORK / max(W, H)
    return max(1, round(W * k)), max(1, round(H * k))


def _starts(n: int, cells: int) -> np.ndarray:
    """First pixel of each of `cells` cells over `n` pixels (cells <= n)."""
    return np.floor(np.arange(cells) * (n / cells)).astype(np.intp)


Rows = Callable[[int, int], tuple[list[np.ndarray], "np.ndarray | None"]]


def _on_grid(rows: Rows, size: tuple[int, int], shape: tuple[int, int]) -> tuple[np.ndarray | None, np.ndarray]:
    """(length of line per cell, track cells) on a grid of `shape` (width, height) from `rows(r0, r1)` — (busy
    coverages, hard mask or None) of those rows of a picture of `size` — taken one row of cells at a time.

    The length of each coverage's lines in a cell is its ink there (the coverage summed over the cell's pixels)
    over the stroke's width (twice its drawn area over its outline's length: counted over the whole picture), in
    cells. None when nothing is busy."""
    (W, H), (w, h) = size, shape
    cols, tops = _starts(W, w), _starts(H, h)
    step = max(1, BAND_ROWS * h // H)  # rows of cells read at a time

    def band(i0: int):
        """This band of cells' ink per coverage, with the counts that make the stroke widths (the edges between
        this band's rows and the band's above are counted when the bands are put together), and its track cells."""
        i1 = min(i0 + step, h)
        r0, r1 = int(tops[i0]), int(tops[i1]) if i1 < h else H
        busy, hard_rows = rows(r0, r1)
        local = tops[i0:i1] - r0
        parts = []
        for cov in busy:
            drawn = cov > DRAWN
            edges = int(np.count_nonzero(drawn[1:] != drawn[:-1]) + np.count_nonzero(drawn[:, 1:] != drawn[:, :-1]))
            # Across first, in uint16 (a cell is at most 32 px wide at the 16384 px cap: 32 × 255 fits), then down:
            # reduceat down the rows of a whole uint8 picture cast to int64 took 9 s at A1.
            across = np.add.reduceat(cov, cols, axis=1, dtype=np.uint16)
            ink = np.add.reduceat(across, local, axis=0, dtype=np.int64)
            parts.append((int(np.count_nonzero(drawn)), edges, drawn[0].copy(), drawn[-1].copy(), ink))
        cells = None
        if hard_rows is not None:
            cells = np.logical_or.reduceat(np.logical_or.reduceat(hard_rows, local, axis=0), cols, axis=1)
        return i0, i1, parts, cells

    inks: list[np.ndarray] = []
    area: list[int] = []
    edges: list[int] = []
    last: list[np.ndarray | None] = []
    hard = np.zeros((h, w), bool)
    for i0, i1, parts, cells in parallel.map_all(band, range(0, h, step)):  # the bands on the compute threads
        if not inks:
            inks = [np.zeros((h, w), np.int64) for _ in parts]
            area, edges, last = [0] * len(parts), [0] * len(parts), [None] * len(parts)
        for k, (a, e, first, final, ink) in enumerate(parts):
            area[k] += a
            edges[k] += e
            if last[k] is not None:  # the edge between these rows and the ones above
                edges[k] += int(np.count_nonzero(first != last[k]))
            last[k] = final
            inks[k][i0:i1] = ink
        if cells is not None:
            hard[i0:i1] = cells
    if not inks:
        return None, hard
    out = np.zeros((h, w), np.float64)
    for ink, a, e in zip(inks, area, edges, strict=True):
        if e == 0:
            continue
        width = max(2.0 * a / e, 1.0)  # of the stroke: area over half its outline
        # The ink in each cell over the stroke's width is the length of line there, in pixels; times the cells per
        # pixel, in cells.
        out += ink * (np.sqrt(w / W * h / H) / (255.0 * width))
    return out, hard


def line_length(coverages: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float: the length, in cells, of the lines of `coverages` (HxW uint8 each, lines of one width each)
    in every cell of a grid of `shape` (width, height, at most the coverages')."""
    if not coverages:
        return np.zeros(shape[::-1], np.float64)
    H, W = coverages[0].shape
    out, _ = _on_grid(lambda r0, r1: ([c[r0:r1] for c in coverages], None), (W, H), shape)
    return out if out is not None else np.zeros(shape[::-1], np.float64)


def _integral(values: np.ndarray) -> np.ndarray:
    out = np.zeros((values.shape[0] + 1, values.shape[1] + 1), np.float64 if values.dtype.kind == "f" else np.int64)
    np.cumsum(np.cumsum(values, axis=0, dtype=out.dtype), axis=1, out=out[1:, 1:])
    return out


@dataclass
class Candidate:
    x: float  # top-left corner
    y: float
    covered: float  # length of data (in working cells) under the box, gap included
    hard: int  # track cells under it
    rank: float  # preference: lower is a more usual place

    @property
    def quiet_key(self) -> tuple:
        return (self.hard > 0, self.covered, self.rank)


class QuietMap:
    """Box sums over the data masks on the working grid (summed-area tables), for scoring many placements at once.
    Boxes come and go in the output's pixels; counts are of working cells."""

    def __init__(self, busy: Sequence[np.ndarray] | None, hard: np.ndarray | None, size: tuple[int, int]) -> None:
        """`busy`: HxW uint8 coverages of data, lines of one width each (line_length); `hard`: HxW bool, what is
        never covered."""
        if busy is None and hard is None:
            self._init(None, size)
            return

        def rows(r0: int, r1: int):
            return [c[r0:r1] for c in busy or ()], (hard[r0:r1] if hard is not None else None)

        self._init(rows, size, busy=busy is not None)

    def _init(self, rows: Rows | None, size: tuple[int, int], *, busy: bool = True) -> None:
        W, H = size
        self.size = size
        self.W, self.H = W, H
        self.w, self.h = work_shape(size)
        self.kx, self.ky = self.w / W, self.h / H  # output pixels → working cells
        length, hard = _on_grid(rows, size, (self.w, self.h)) if rows is not None else (None, None)
        if busy and length is None:
            length = np.zeros((self.h, self.w), np.float64)
        self._busy = _integral(length) if length is not None and busy else None
        self._hard = _integral(hard) if hard is not None and hard.any() else None
        self.total = float(self._busy[-1, -1]) if self._busy is not None else 0.0

    @classmethod
    def of(cls, size: tuple[int, int], *, layers=None, image: np.ndarray | None = None) -> QuietMap:
        """On the data of `layers`, else on the detail of a painted `image`, else nothing is busy. Read a row of
        working cells at a time: no full-size mask is made."""
        qm = cls.__new__(cls)
        if layers is not None:
            qm._init(lambda r0, r1: data_rows(layers, r0, r1), size)
        elif image is not None:
            qm._init(lambda r0, r1: ([detail_rows(image, r0, r1).view(np.uint8) * np.uint8(255)], None), size)
        else:
            qm._init(None, size)
        return qm

    def _sums(self, table: np.ndarray | None, x0, y0, x1, y1) -> np.ndarray:
        """Sums over boxes given in working cells, each grown to whole cells."""
        if table is None:
            return np.zeros(np.shape(x0), np.int64)
        c0 = np.clip(np.floor(x0).astype(int), 0, self.w)
        r0 = np.clip(np.floor(y0).astype(int), 0, self.h)
        c1 = np.clip(np.ceil(x1).astype(int), 0, self.w)
        r1 = np.clip(np.ceil(y1).astype(int), 0, self.h)
        return table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0]

    def _work(self, box: Box, gap: float = 0.0) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = box
        return (x0 - gap) * self.kx, (y0 - gap) * self.ky, (x1 + gap) * self.kx, (y1 + gap) * self.ky

    def covered(self, box: Box, gap: float = 0.0) -> tuple[int, int]:
        """(length of data, track cells) inside `box` (output pixels) grown by `gap`."""
        x0, y0, x1, y1 = (np.array([v]) for v in self._work(box, gap))
        return float(self._sums(self._busy, x0, y0, x1, y1)[0]), int(self._sums(self._hard, x0, y0, x1, y1)[0])

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
        `corners` are the preferred corners, most preferred first ("top-left", "bottom-right", …). Sizes and
        places in output pixels; the grid, the counts and the preference are the working grid's, so a picture at
        any resolution gets the same candidates, scaled."""
        kx, ky = self.kx, self.ky
        ax0, ay0, ax1, ay1 = self._work(area)
        w, h, gx, gy = w * kx, h * ky, gap * kx, gap * ky
        if w > ax1 - ax0 or h > ay1 - ay0:
            return []
        step = max(2.0, min(self.w, self.h) / 48.0)
        xs = np.linspace(ax0, ax1 - w, max(2, int(np.ceil((ax1 - ax0 - w) / step)) + 1))
        ys = np.linspace(ay0, ay1 - h, max(2, int(np.ceil((ay1 - ay0 - h) / step)) + 1))
        X, Y = (v.ravel() for v in np.meshgrid(xs, ys))
        ok = np.ones(X.shape, bool)
        for tx0, ty0, tx1, ty1 in (self._work(t) for t in taken):
            ok &= (X + w + gx <= tx0) | (X - gx >= tx1) | (Y + h + gy <= ty0) | (Y - gy >= ty1)
        X, Y = X[ok], Y[ok]
        busy = self._sums(self._busy, X - gx, Y - gy, X + w + gx, Y + h + gy)
        hard = self._sums(self._hard, X - gx, Y - gy, X + w + gx, Y + h + gy)
        # Preference: distance from the nearest preferred corner, each later corner a little further away.
        diag = float(np.hypot(self.w, self.h))
        rank = np.full(X.shape, np.inf)
        for i, corner in enumerate(corners):
            cx = ax0 if "left" in corner else ax1 - w
            cy = ay0 if "top" in corner else ay1 - h
            rank = np.minimum(rank, np.hypot(X - cx, Y - cy) / diag + 0.05 * i)
        rows = zip((X / kx).tolist(), (Y / ky).tolist(), busy.tolist(), hard.tolist(), rank.tolist())
        return [Candidate(x, y, b, k, r) for x, y, b, k, r in rows]

    def allowance(self) -> float:
        """Length of data one piece of furniture may hide and still count as on a quiet place."""
        return 0.001 * self.total


def best_place(qm: QuietMap, cands: list[Candidate]) -> tuple[Candidate | None, bool]:
    """(the chosen candidate, whether it is quiet): the most usual quiet place, else the most usual of those that
    hide about the least (within one allowance of it: counts this close are noise of the resolution, and the least
    covering one alone would jump about between a preview and its export)."""
    if not cands:
        return None, False
    allow = qm.allowance()

    def usual(c: Candidate) -> float:  # one hiding a little data counts as a bit further from the corner
        return c.rank + 0.15 * c.covered / max(allow, 1.0)

    quiet = [c for c in cands if c.hard == 0 and c.covered <= allow]
    if quiet:
        return min(quiet, key=usual), True
    least = min(cands, key=lambda c: c.quiet_key)
    near = [c for c in cands if (c.hard > 0) == (least.hard > 0) and c.covered <= least.covered + allow]
    return min(near, key=usual), False
