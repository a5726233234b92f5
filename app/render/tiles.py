"""Tiles for repainting a big picture at a model's own resolution, and their seams feathered away (numpy only).

`plan_grid` lays overlapping tiles over the picture: every pixel covered, neighbours overlapping by at least
`overlap`, the first and last tile of a row or column flush with the picture's edges, tile sides multiples of
16 (what the diffusion models take). `Blender` puts the repainted tiles back: across each overlap one tile's
weight falls on a cosine ramp while its neighbour's rises, and the weights are divided by their sum, so they
add up to 1 at every pixel (a constant picture stays constant, and no tile edge shows). It keeps only one row
of tiles in floating point, so its memory grows with the picture's width, not its area.

`guide_tile` makes a tile's starting picture: the enlarged AI picture, blended with the full-resolution
procedural painting of the same tile, and with the painting's fine detail (what the AI picture, painted at a
lower resolution, cannot hold: thin roads, coast, buildings) added on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MULTIPLE = 16  # VAE scale factor 8 x patch size 2
MIN_TILE = 32


@dataclass(frozen=True)
class Tile:
    index: int  # row-major, from 0
    row: int
    col: int
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the tile in the picture."""
        return self.x1 - self.x0, self.y1 - self.y0

    @property
    def model_size(self) -> tuple[int, int]:
        """(width, height) the model paints it at: the tile's own size, rounded up to a multiple of 16 (they
        differ only when the whole picture is narrower than one tile)."""
        return tuple(_round_up(v) for v in self.size)  # type: ignore[return-value]

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.y0 : self.y1, self.x0 : self.x1]


@dataclass(frozen=True)
class TileGrid:
    width: int  # the picture's
    height: int
    tile: int  # the tile side asked for (a multiple of 16)
    overlap: int  # the least overlap between neighbours
    xs: tuple[tuple[int, int], ...]  # (start, end) of each column
    ys: tuple[tuple[int, int], ...]  # (start, end) of each row

    @property
    def rows(self) -> int:
        return len(self.ys)

    @property
    def cols(self) -> int:
        return len(self.xs)

    @property
    def count(self) -> int:
        return self.rows * self.cols

    @property
    def tiles(self) -> list[Tile]:
        return [
            Tile(r * self.cols + c, r, c, x0, y0, x1, y1)
            for r, (y0, y1) in enumerate(self.ys)
            for c, (x0, x1) in enumerate(self.xs)
        ]

    def record(self) -> dict:
        """The grid for the picture's metadata."""
        tw, th = self.tiles[0].size
        return {"rows": self.rows, "cols": self.cols, "tile": [tw, th], "overlap": self.overlap}


def _round_up(v: int) -> int:
    return max(MULTIPLE, -(-int(v) // MULTIPLE) * MULTIPLE)


def spans(length: int, tile: int, overlap: int) -> tuple[tuple[int, int], ...]:
    """(start, end) of tiles along one side: as few as keep neighbours `overlap` apart or more, spread evenly,
    the first at 0 and the last ending at `length`. A side shorter than a tile is one tile of its length."""
    if length <= tile:
        return ((0, length),)
    n = math.ceil((length - overlap) / (tile - overlap))
    starts = [round(i * (length - tile) / (n - 1)) for i in range(n)]
    return tuple((s, s + tile) for s in starts)


def plan_grid(size: tuple[int, int], tile: int, overlap: int | None = None) -> TileGrid:
    """Overlapping tiles of `tile`×`tile` (rounded down to a multiple of 16) over a picture of `size` (w, h).
    `overlap` defaults to an eighth of the tile and is kept under half a tile; spreading the tiles evenly may
    make the overlaps larger (`axis_weights` copes with a pixel in three tiles of a row)."""
    w, h = (int(v) for v in size)
    if w < 1 or h < 1:
        raise ValueError(f"no tiles for a picture of {w}x{h}")
    tile = max(MIN_TILE, int(tile) // MULTIPLE * MULTIPLE)
    overlap = tile // 8 if overlap is None else int(overlap)
    overlap = max(0, min(overlap, tile // 2 - 1))
    return TileGrid(w, h, tile, overlap, spans(w, tile, overlap), spans(h, tile, overlap))


def axis_weights(side: tuple[tuple[int, int], ...], length: int) -> list[np.ndarray]:
    """Per span, its float32 weights along the side: 1 where it is alone, a cosine ramp across each overlap
    (falling as the neighbour's rises), divided by the sum of all spans' weights so they add up to 1."""
    raw = []
    for i, (s, e) in enumerate(side):
        w = np.ones(e - s, np.float64)
        x = np.arange(s, e) + 0.5
        if i > 0 and side[i - 1][1] > s:  # overlap with the previous span: [s, its end)
            a, b = s, side[i - 1][1]
            inside = x < b
            w[inside] *= 0.5 - 0.5 * np.cos(np.pi * (x[inside] - a) / (b - a))
        if i + 1 < len(side) and side[i + 1][0] < e:  # overlap with the next span: [its start, e)
            a, b = side[i + 1][0], e
            inside = x >= a
            w[inside] *= 0.5 + 0.5 * np.cos(np.pi * (x[inside] - a) / (b - a))
        raw.append(w)
    total = np.zeros(length, np.float64)
    for (s, e), w in zip(side, raw, strict=True):
        total[s:e] += w
    return [(w / total[s:e]).astype(np.float32) for (s, e), w in zip(side, raw, strict=True)]


class Blender:
    """Feathered tiles into one uint8 picture. Add tiles row by row (any order within a row); a row of output
    is written out as soon as no later tile covers it, so only one row of tiles is held in float32."""

    def __init__(self, grid: TileGrid) -> None:
        self.grid = grid
        self.image = np.zeros((grid.height, grid.width, 3), np.uint8)
        self._wx = axis_weights(grid.xs, grid.width)
        self._wy = axis_weights(grid.ys, grid.height)
        self._row = -1
        self._acc: np.ndarray | None = None
        self._acc_y0 = 0
        self.band_bytes = 0  # the largest float buffer held (for the memory test)

    def add(self, tile: Tile, pixels: np.ndarray) -> None:
        """`pixels`: the repainted tile, HxWx3 at `tile.size`."""
        tw, th = tile.size
        if pixels.shape[:2] != (th, tw):
            raise ValueError(f"tile {tile.index} is {pixels.shape[1]}x{pixels.shape[0]}, not {tw}x{th}")
        if tile.row < self._row:
            raise ValueError(f"tile {tile.index} comes after row {self._row}: add tiles row by row")
        while self._row < tile.row:
            self._next_row()
        weight = self._wy[tile.row][:, None, None] * self._wx[tile.col][None, :, None]
        band = self._acc[tile.y0 - self._acc_y0 : tile.y1 - self._acc_y0, tile.x0 : tile.x1]
        band += pixels[..., :3].astype(np.float32) * weight

    def _next_row(self) -> None:
        self._row += 1
        y0, y1 = self.grid.ys[self._row]
        acc = np.zeros((y1 - y0, self.grid.width, 3), np.float32)
        if self._acc is not None:
            keep = self._acc_y0 + self._acc.shape[0] - y0  # the previous row's overlap with this one
            if keep > 0:
                acc[:keep] = self._acc[y0 - self._acc_y0 :]
            self._flush(self._acc[: y0 - self._acc_y0], self._acc_y0)
        self._acc, self._acc_y0 = acc, y0
        self.band_bytes = max(self.band_bytes, acc.nbytes)

    def _flush(self, rows: np.ndarray, y0: int) -> None:
        if len(rows):  # in place: no float temporaries of a band's size
            np.add(rows, 0.5, out=rows)
            np.clip(rows, 0, 255, out=rows)
            self.image[y0 : y0 + len(rows)] = rows  # truncation after +0.5: rounding

    def result(self) -> np.ndarray:
        """The blended picture (call once every tile is added)."""
        while self._row < self.grid.rows - 1:
            self._next_row()
        if self._acc is not None:
            self._flush(self._acc, self._acc_y0)
            self._acc = None
        return self.image


def blend_tiles(grid: TileGrid, tiles: list[np.ndarray]) -> np.ndarray:
    """Every tile of `grid` (row-major) feathered into one picture."""
    blender = Blender(grid)
    for tile, pixels in zip(grid.tiles, tiles, strict=True):
        blender.add(tile, pixels)
    return blender.result()


def guide_tile(ai: np.ndarray, painting: np.ndarray, *, scale: float, mix: float = 0.2,
               detail: float = 0.8) -> np.ndarray:  # fmt: skip
    """A tile's starting picture from the enlarged AI picture and the full-resolution painting of the same tile:
    `(1 - mix)·ai + mix·painting + detail·(painting − painting blurred to the AI picture's resolution)`.
    `scale` is how many times the AI picture was enlarged; at 1 the painting adds no detail of its own."""
    from PIL import Image

    a = ai[..., :3].astype(np.float32)
    p = painting[..., :3].astype(np.float32)
    out = (1.0 - mix) * a + mix * p
    h, w = p.shape[:2]
    small = (max(1, round(w / scale)), max(1, round(h / scale)))
    if detail and scale > 1.0 and small != (w, h):
        img = Image.fromarray(painting[..., :3])
        low = np.asarray(img.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BICUBIC))
        out += detail * (p - low.astype(np.float32))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
