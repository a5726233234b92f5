"""Procedural textures: value/fractal noise, paper grain and fibres.

Deterministic from the numpy Generator passed in, vectorised, float32. Sizes are in pixels of the
image being painted; callers scale them with the image so big and small renders look alike.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import skia

from app import parallel
from app.styles.filters import Upsampler, bands, blur, blur_factor, blur_small, upsample

F32 = np.float32


def value_noise(h: int, w: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field, features about `cell` px apart, values in [-1, 1]."""
    cell = max(float(cell), 1.0)
    gh = max(2, math.ceil(h / cell) + 1)
    gw = max(2, math.ceil(w / cell) + 1)
    grid = rng.random((gh, gw), dtype=F32)
    grid *= F32(2)
    grid -= F32(1)
    return upsample(grid, h, w, smooth=True)


def fractal_noise(h: int, w: int, scale: float, rng: np.random.Generator, **octaves) -> np.ndarray:
    """Sum of value-noise octaves, coarsest features `scale` px; normalised to zero mean, unit std: the whole of
    `fractal_field` (same keywords: octaves, persistence, lacunarity)."""
    return fractal_field(h, w, scale, rng, **octaves).part()


class Field:
    """A smooth h x w random field kept as its coarse grid: any part of it (`part`) is computed when asked, with
    the same values as that part of the whole, so a big picture takes it band by band and never holds it all."""

    def __init__(self, up: Upsampler, mean: float, inv_std: float | None) -> None:
        self.up, self.mean, self.inv_std = up, F32(mean), None if inv_std is None else F32(inv_std)
        self.shape = up.shape

    def part(self, rows=slice(None), cols=slice(None)) -> np.ndarray:
        """A new float32 array of the field's values at `rows` x `cols`."""
        a = self.up.part(rows, cols)
        a -= self.mean
        if self.inv_std is not None:
            a *= self.inv_std
        return a


def _normalised_field(up) -> Field:
    """A Field of `up` normalised as `_normalise` normalises the whole (the same sample, the same values)."""
    h, w = up.shape
    step = max(1, int(math.sqrt(h * w / 250_000)))
    sample = up.part(slice(None, None, step), slice(None, None, step))
    mean = F32(sample.mean())
    sample -= mean
    std = float(sample.std())
    return Field(up, float(mean), 1.0 / std if std > 1e-6 else None)


def fractal_field(
    h: int,
    w: int,
    scale: float,
    rng: np.random.Generator,
    *,
    octaves: int = 4,
    persistence: float = 0.5,
    lacunarity: float = 2.0,
) -> Field:
    """`fractal_noise` as a Field (the same random draws, the same values)."""
    cells = []
    cell = float(scale)
    for _ in range(max(1, octaves)):
        if cell < 1.5 and cells:
            break
        cells.append(cell)
        cell /= lacunarity
    # Sum the octaves on a grid a few times coarser than the finest cell, then interpolate once.
    f = max(1, int(cells[-1] / 3))
    sh, sw = math.ceil(h / f), math.ceil(w / f)
    out = np.zeros((sh, sw), F32)
    amp = 1.0
    for cell in cells:
        n = value_noise(sh, sw, cell / f, rng)
        n *= F32(amp)
        out += n
        amp *= persistence
    return _normalised_field(Upsampler(out, h, w) if (sh, sw) != (h, w) else _Same(out))


class _Same:
    """An Upsampler that does not resample: the grid is the field's own size."""

    def __init__(self, a: np.ndarray) -> None:
        self.a, self.shape = a, a.shape

    def part(self, rows=slice(None), cols=slice(None)) -> np.ndarray:
        return self.a[rows][:, cols].copy()


def _normalise(a: np.ndarray) -> np.ndarray:
    step = max(1, int(math.sqrt(a.size / 250_000)))
    sample = a[::step, ::step]
    a -= F32(sample.mean())
    std = float(sample.std())
    if std > 1e-6:
        a *= F32(1.0 / std)
    return a


def grain(h: int, w: int, size: float, rng: np.random.Generator) -> np.ndarray:
    """Fine paper tooth: white noise softened to `size` px, zero mean, unit std."""
    g = rng.standard_normal((h, w), dtype=F32)
    if size > 0.5:
        blur(g, size * 0.6, out=g)
    return _normalise(g)


def grain_field(h: int, w: int, size: float, rng: np.random.Generator) -> Field | np.ndarray:
    """`grain`, the same draws and values, as a Field where its blur works downsampled (a print-size picture: the
    white noise is drawn and averaged a band at a time, never held whole); else the array `grain` gives."""
    sigma = size * 0.6
    if size <= 0.5 or sigma <= 1.5:
        return grain(h, w, size, rng)
    f = blur_factor(h, w, sigma)
    hh, ww = -(-h // f), -(-w // f)
    small = np.empty((hh, ww), F32)

    def average(b: slice, g: np.ndarray) -> None:
        if ww * f != w:
            g = np.pad(g, ((0, 0), (0, ww * f - w)), mode="edge")
        small[b] = g.reshape(b.stop - b.start, f, ww, f).mean(axis=(1, 3), dtype=F32)

    # The rows are drawn in order here while the bands drawn before are averaged on the compute threads (a few at a
    # time: the draws waiting are a few bands, not the picture).
    pending: deque = deque()
    for b in bands(hh, ww * f * f):  # as filters.downsample, on rows drawn in order
        r0, r1 = b.start * f, min(b.stop * f, h)
        g = rng.standard_normal((r1 - r0, w), dtype=F32)
        if (b.stop - b.start) * f != r1 - r0:  # the last rows repeat
            g = g[np.minimum(np.arange((b.stop - b.start) * f), r1 - r0 - 1)]
        pending.append(parallel.submit(average, b, g))
        while len(pending) > parallel.THREADS:
            pending.popleft().result()
    while pending:
        pending.popleft().result()
    return _normalised_field(Upsampler(blur_small(small, f, sigma), h, w))


def fibres(h: int, w: int, unit: float, rng: np.random.Generator, *, density: float = 1.0) -> np.ndarray:
    """Paper fibres: short thin curved strands, uint8 coverage 0..255."""
    buf = np.zeros((h, w), np.uint8)
    surface = skia.Surface.MakeRasterDirect(skia.ImageInfo.MakeA8(w, h), buf, w)
    canvas = surface.getCanvas()
    n = int(density * 900 * (h * w) / (1024 * 1024))
    if n <= 0:
        return buf
    xy = rng.random((n, 2)) * (w, h)
    length = rng.uniform(6, 26, n) * unit
    angle = rng.uniform(0, math.pi, n)
    bend = rng.normal(0, 0.35, n)
    group = rng.integers(0, 4, n)
    for g in range(4):
        path = skia.Path()
        for i in np.flatnonzero(group == g):
            x, y = xy[i]
            dx, dy = math.cos(angle[i]) * length[i] / 2, math.sin(angle[i]) * length[i] / 2
            cx, cy = x - dy * bend[i], y + dx * bend[i]
            path.moveTo(x - dx, y - dy)
            path.quadTo(cx, cy, x + dx, y + dy)
        paint = skia.Paint(
            AntiAlias=True,
            Style=skia.Paint.kStroke_Style,
            StrokeWidth=max(0.5, (0.5 + 0.25 * g) * unit),
            Color=skia.ColorSetARGB(70 + 45 * g, 0, 0, 0),
        )
        canvas.drawPath(path, paint)
    del surface, canvas
    return buf
