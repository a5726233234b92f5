"""Image filters on float32 HxW arrays: blur, resampling, distance fields, iso-lines.

Everything here is numpy only and works on single channels; callers keep full-size arrays few
and float32, so an 8192-px canvas stays within memory. Work that is the same pixel by pixel runs band
by band (`bands`): its temporaries are a band's, not the picture's, and stay in the CPU's cache.
Where no band depends on another, `each_band` runs them on the compute threads, one per core (app/parallel.py: numpy
lets go of the GIL while it computes): the same values, in less wall time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from app import parallel

F32 = np.float32
BAND_PIXELS = 1 << 18  # pixels a band of rows holds: 1 MB a float32 plane


def bands(h: int, w: int, pixels: int = BAND_PIXELS) -> Iterator[slice]:
    """Slices of consecutive rows that cover 0..h, about `pixels` each."""
    step = max(1, pixels // max(w, 1))
    for r0 in range(0, h, step):
        yield slice(r0, min(h, r0 + step))


def each_band(h: int, w: int, fn: Callable[[slice], object], pixels: int = BAND_PIXELS) -> list:
    """`[fn(b) for b in bands(h, w, pixels)]`, the bands shared among the compute threads (app/parallel.py) when
    there are several cores. For work where no band reads what another writes (each writes its own rows); the
    results come back in order, and the first exception a band raises is raised here. Work a band does with
    `each_band` itself runs in that band's thread, in turn."""
    return parallel.map_all(fn, bands(h, w, pixels))


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at edge0 to 1 at edge1 (float32, new array)."""
    span = edge1 - edge0 if edge1 != edge0 else 1e-6
    t = np.clip((x - F32(edge0)) * F32(1.0 / span), 0, 1, dtype=F32)
    return t * t * (F32(3) - F32(2) * t)


def smoothstep_(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """`smoothstep` in place on float32 `x` (the same values)."""
    span = edge1 - edge0 if edge1 != edge0 else 1e-6
    x -= F32(edge0)
    x *= F32(1.0 / span)
    np.clip(x, 0, 1, out=x)
    t2 = x * x
    x *= F32(2)
    np.subtract(F32(3), x, out=x)
    x *= t2
    return x


def coverage(m8: np.ndarray) -> np.ndarray:
    """uint8 coverage 0..255 → float32 0..1 (a new array)."""
    out = m8.astype(F32)
    out *= F32(1 / 255)
    return out


def _float_rows(a: np.ndarray, rows) -> np.ndarray:
    """A float32 copy of `rows` of `a` (uint8 coverage is brought to 0..1)."""
    return coverage(a[rows]) if a.dtype == np.uint8 else a[rows].astype(F32, copy=True)


def downsample(a: np.ndarray, f: int) -> np.ndarray:
    """Box-average by an integer factor (edges padded by repetition). `a` is float32 or uint8 coverage (as
    0..1); band by band, so no padded copy of the whole."""
    if f <= 1:
        return _float_rows(a, slice(None))
    h, w = a.shape
    hh, ww = -(-h // f), -(-w // f)
    out = np.empty((hh, ww), F32)

    def average(b: slice) -> None:
        rows = np.minimum(np.arange(b.start * f, b.stop * f), h - 1)
        part = _float_rows(a, rows)
        if ww * f != w:
            part = np.pad(part, ((0, 0), (0, ww * f - w)), mode="edge")
        out[b] = part.reshape(b.stop - b.start, f, ww, f).mean(axis=(1, 3), dtype=F32)

    each_band(hh, ww * f * f, average)
    return out


def _axis(n: int, m: int, smooth: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolation of m samples to n, pixel centres aligned: the lower and upper neighbours and the weight."""
    pos = (np.arange(n, dtype=np.float64) + 0.5) / (n / m) - 0.5
    pos = np.clip(pos, 0, m - 1)
    i0 = np.minimum(np.floor(pos).astype(np.intp), max(m - 2, 0))
    t = (pos - i0).astype(F32)
    if smooth:
        t = t * t * (F32(3) - F32(2) * t)
    return i0, np.minimum(i0 + 1, m - 1), t


class Upsampler:
    """`small` resampled to h x w (bilinear, or smoothstep-weighted), computed for the rows and columns asked:
    any part gives the same values as the whole (`upsample`), so a big picture is done band by band."""

    def __init__(self, small: np.ndarray, h: int, w: int, *, smooth: bool = False) -> None:
        self.small, self.shape = small, (h, w)
        self.y = _axis(h, small.shape[0], smooth)
        self.x = _axis(w, small.shape[1], smooth)

    def part(self, rows=slice(None), cols=slice(None), out: np.ndarray | None = None) -> np.ndarray:
        """The values of `rows` x `cols` (slices or index arrays), in `out` when given."""
        i0, i1, ty = (a[rows] for a in self.y)
        j0, _, tx = (a[cols] for a in self.x)  # the upper neighbour is j0 + 1
        r = self.small[i0]
        r += (self.small[i1] - r) * ty[:, None]
        if out is None:
            out = r[:, j0]
        else:
            np.take(r, j0, axis=1, out=out)
        if r.shape[1] > 1:  # j1 = j0 + 1: the differences taken on the small grid, the same values
            step = np.diff(r, axis=1)
            t = np.take(step, np.minimum(j0, step.shape[1] - 1), axis=1)
            t *= tx[None, :]
            out += t
        return out


def upsample(small: np.ndarray, h: int, w: int, *, smooth: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Resample `small` to h x w, pixel centres aligned; bilinear (or smoothstep-weighted) interpolation.
    Band by band, into `out` when given."""
    up = Upsampler(small, h, w, smooth=smooth)
    if out is None:
        out = np.empty((h, w), F32)

    def fill(b: slice) -> None:
        up.part(b, out=out[b])

    each_band(h, w, fill)
    return out


def _box(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Running mean of width 2r+1 along one axis, edges clamped."""
    if r <= 0:
        return a
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r + 1, r)
    c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=F32)
    n = a.shape[axis]
    if axis == 0:
        out = c[2 * r + 1 : 2 * r + 1 + n] - c[:n]
    else:
        out = c[:, 2 * r + 1 : 2 * r + 1 + n] - c[:, :n]
    out *= F32(1.0 / (2 * r + 1))
    return out


def _taps(p: np.ndarray, n: int, axis: int) -> np.ndarray:
    """[1 4 6 4 1]/16 along `axis` of `p`, which is padded by 2 on that axis: n values."""

    def s(k: int) -> np.ndarray:
        return p[k : k + n] if axis == 0 else p[:, k : k + n]

    out = (s(0) + s(4)) * F32(1 / 16)
    out += (s(1) + s(3)) * F32(4 / 16)
    out += s(2) * F32(6 / 16)
    return out


def _binomial(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[1 4 6 4 1]/16 in both directions (edges repeated): a gaussian of sigma 1. Band by band; `out` may be
    `a` itself (the two rows above a band are kept aside as they were before the band above is written)."""
    h, w = a.shape
    if out is None:
        out = np.empty((h, w), F32)
    above = None  # a's rows r0-2 and r0-1 (clamped) before any was overwritten
    for b in bands(h, w):
        r0, r1 = b.start, b.stop
        if above is None:
            above = a[[max(r0 - 2, 0), max(r0 - 1, 0)]]
        p = np.concatenate([above, a[b], a[[min(r1, h - 1), min(r1 + 1, h - 1)]]])
        above = p[-4:-2].copy()  # rows r1-2 and r1-1 for the next band
        v = _taps(p, r1 - r0, 0)
        out[b] = _taps(np.pad(v, ((0, 0), (2, 2)), mode="edge"), w, 1)
    return out


def _box3(a: np.ndarray, sigma: float) -> np.ndarray:  # on the downsampled copy: small
    # Three box passes of width 2r+1 have variance 3 * ((2r+1)^2 - 1) / 12.
    r = max(1, round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2))
    out = a
    for _ in range(3):
        out = _box(_box(out, r, 0), r, 1)
    return out


def blur(a: np.ndarray, sigma: float, out: np.ndarray | None = None) -> np.ndarray:
    """Approximate gaussian blur (float32), fast for any sigma: a new array, or `out` (which may be `a`).

    Small sigmas use a binomial kernel at full size; larger ones blur a box-averaged copy
    (binomial or three box passes) and interpolate back, which costs about the same for any radius.
    """
    a = a.astype(F32, copy=False)
    if sigma < 0.35:
        if out is None:
            return a.copy()
        out[...] = a
        return out
    if sigma <= 1.5:
        out = _binomial(a, out)
        return out if sigma <= 1.2 else _binomial(out, out)
    h, w = a.shape
    f = blur_factor(h, w, sigma)
    return upsample(blur_small(downsample(a, f), f, sigma), h, w, out=out)


def blur_factor(h: int, w: int, sigma: float) -> int:
    """The factor a blur of `sigma` (> 1.5) works downsampled by."""
    return max(2, min(int(sigma / 1.5), max(1, min(h, w) // 4)))


def blur_small(small: np.ndarray, f: int, sigma: float) -> np.ndarray:
    """The rest of a blur of `sigma` on the picture downsampled by `f` (`blur_factor`)."""
    rest = math.sqrt(max(sigma * sigma / (f * f) - 0.35, 0.25))
    if rest > 1.6:
        return _box3(small, rest)
    return _binomial(small) if rest <= 1.2 else _binomial(_binomial(small))


class Blurred:
    """`blur(a, sigma)` computed a band of rows at a time (`part`), the same values as the whole, so the caller
    never holds the blurred picture; `a` may be uint8 coverage (as 0..1). A large sigma keeps the blurred
    downsampled copy; a small one recomputes the binomial kernel's few rows of halo per band."""

    def __init__(self, a: np.ndarray, sigma: float) -> None:
        self.a = a
        self.h, self.w = a.shape
        self.up: Upsampler | None = None
        self.passes = 0 if sigma < 0.35 else 1 if sigma <= 1.2 else 2
        if sigma > 1.5:
            f = blur_factor(self.h, self.w, sigma)
            self.up = Upsampler(blur_small(downsample(a, f), f, sigma), self.h, self.w)

    def part(self, rows: slice) -> np.ndarray:
        """A new float32 array: the blurred rows."""
        if self.up is not None:
            return self.up.part(rows)
        return self._pass(rows.start, rows.stop, self.passes)

    def _pass(self, r0: int, r1: int, k: int) -> np.ndarray:
        if k == 0:
            return _float_rows(self.a, slice(r0, r1))
        lo, hi = max(r0 - 2, 0), min(r1 + 2, self.h)
        inner = self._pass(lo, hi, k - 1)
        p = inner[np.clip(np.arange(r0 - 2, r1 + 2), 0, self.h - 1) - lo]
        v = _taps(p, r1 - r0, 0)
        return _taps(np.pad(v, ((0, 0), (2, 2)), mode="edge"), self.w, 1)


def bbox(mask: np.ndarray, pad: float) -> tuple[slice, slice] | None:
    """Slices of the box around the non-zero part of `mask`, grown by `pad` px; None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    p = math.ceil(pad)
    h, w = mask.shape
    return slice(max(0, rows[0] - p), min(h, rows[-1] + p + 1)), slice(max(0, cols[0] - p), min(w, cols[-1] + p + 1))


def _row_distance(inside: np.ndarray, cap: int) -> np.ndarray:
    """Distance (px, capped) to the nearest inside pixel in the same row."""
    _h, w = inside.shape
    idx = np.arange(w, dtype=np.int32)[None, :]
    big = np.int32(10 * (w + cap))
    left = np.where(inside, idx, -big)
    np.maximum.accumulate(left, axis=1, out=left)
    right = np.where(inside, idx, big)
    right = np.minimum.accumulate(right[:, ::-1], axis=1)[:, ::-1]
    d = np.minimum(idx - left, right - idx)
    return np.minimum(d, cap).astype(F32)


def distance_from(coverage: np.ndarray, max_dist: float) -> np.ndarray:
    """Euclidean distance (px) from the region where coverage >= 0.5, capped at max_dist.

    Computed at reduced resolution (the cap spans at most ~32 low-res pixels), smoothed and
    interpolated back: good for offset contours (ripples, halos, fades), not for metrology.
    """
    f = distance_factor(max_dist)
    return distance_from_small(downsample(coverage, f), coverage.shape, f, max_dist)


def distance_factor(max_dist: float) -> int:
    """The downsampling factor `distance_from` works at."""
    return max(1, math.ceil(max_dist / 32))


def distance_from_small(small: np.ndarray, shape: tuple[int, int], f: int, max_dist: float) -> np.ndarray:
    """`distance_from` given the coverage downsampled by `distance_factor` (the caller can drop the full one)."""
    h, w = shape
    inside = small >= 0.5
    cap = math.ceil(max_dist / f) + 2
    if not inside.any():
        return np.full((h, w), F32(max_dist))
    sh, sw = small.shape
    g2 = np.empty((sh, sw), F32)  # squared distance along each row: rows are independent (bands of rows)

    def along_rows(b: slice) -> None:
        g2[b] = _row_distance(inside[b], cap) ** 2

    each_band(sh, sw, along_rows)
    out = g2.copy()

    def down_columns(c: slice) -> None:  # then down each column: columns are independent (strips of columns)
        g, o = g2[:, c], out[:, c]
        t = np.empty_like(g)
        for dy in range(1, min(cap, sh - 1) + 1):
            dd = F32(dy * dy)
            np.add(g[:-dy], dd, out=t[:-dy])
            np.minimum(o[dy:], t[:-dy], out=o[dy:])
            np.add(g[dy:], dd, out=t[:-dy])
            np.minimum(o[:-dy], t[:-dy], out=o[:-dy])
        np.sqrt(o, out=o)
        o *= F32(f)

    each_band(sw, sh, down_columns)  # a "band" of the transposed shape: a strip of columns
    if f > 1:
        out = _binomial(out)
        out = upsample(out, h, w)
    np.minimum(out, F32(max_dist), out=out)
    return out


def isoline(field: np.ndarray, level: float, width: float) -> np.ndarray:
    """Anti-aliased line of `width` px where a distance-like field (unit gradient) equals `level`."""
    out = np.abs(field - F32(level))
    return line_coverage(out, width)


def line_coverage(dist: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """Coverage of a line of `width` px at `dist` px from its centre; lines under 1 px fade instead of thinning.

    Reuses `dist` as the output buffer.
    """
    w = np.asarray(width, F32)
    full = np.maximum(w, F32(1))
    np.subtract(full * F32(0.5) + F32(0.5), dist, out=dist)
    np.clip(dist, 0, 1, out=dist)
    if np.any(w < 1):
        dist *= w / full
    return dist


def edge_line(coverage: np.ndarray, width: float) -> np.ndarray:
    """Anti-aliased line of `width` px along the 0.5 contour of a coverage mask (float 0..1 or uint8 0..255).
    Band by band: the blurred coverage is computed a band (and a row of halo) at a time."""
    f = Blurred(coverage, 0.8)
    h, w = coverage.shape
    out = np.empty((h, w), F32)

    def line(b: slice) -> None:
        lo, hi = max(b.start - 1, 0), min(b.stop + 1, h)  # a row of halo: the gradient is central
        fb = f.part(slice(lo, hi))
        gy, gx = np.gradient(fb)
        k = slice(b.start - lo, b.stop - lo)
        gx, gy = gx[k], gy[k]
        g = np.sqrt(gx * gx + gy * gy)
        del gx, gy
        np.maximum(g, F32(1e-3), out=g)
        d = np.abs(fb[k] - F32(0.5))
        d /= g
        out[b] = isoline(d, 0.0, width)

    each_band(h, w, line)
    return out
