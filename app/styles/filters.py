"""Image filters on float32 HxW arrays: blur, resampling, distance fields, iso-lines.

Everything here is numpy only and works on single channels; callers keep full-size arrays few
and float32, so an 8192-px canvas stays within memory.
"""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at edge0 to 1 at edge1 (float32, new array)."""
    span = edge1 - edge0 if edge1 != edge0 else 1e-6
    t = np.clip((x - F32(edge0)) * F32(1.0 / span), 0, 1, dtype=F32)
    return t * t * (F32(3) - F32(2) * t)


def downsample(a: np.ndarray, f: int) -> np.ndarray:
    """Box-average by an integer factor (edges padded by repetition)."""
    if f <= 1:
        return a.astype(F32, copy=True)
    h, w = a.shape
    ph, pw = -h % f, -w % f
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw)), mode="edge")
    hh, ww = a.shape[0] // f, a.shape[1] // f
    return a.reshape(hh, f, ww, f).mean(axis=(1, 3), dtype=F32)


def upsample(small: np.ndarray, h: int, w: int, *, smooth: bool = False) -> np.ndarray:
    """Resample `small` to h x w, pixel centres aligned; bilinear (or smoothstep-weighted) interpolation."""
    sh, sw = small.shape
    fy, fx = h / sh, w / sw

    def axis(n: int, f: float, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n, dtype=np.float64) + 0.5) / f - 0.5
        pos = np.clip(pos, 0, m - 1)
        i0 = np.minimum(np.floor(pos).astype(np.intp), max(m - 2, 0))
        t = (pos - i0).astype(F32)
        if smooth:
            t = t * t * (F32(3) - F32(2) * t)
        return i0, np.minimum(i0 + 1, m - 1), t

    i0, i1, ty = axis(h, fy, sh)
    rows = small[i0]
    rows += (small[i1] - rows) * ty[:, None]
    j0, j1, tx = axis(w, fx, sw)
    out = rows[:, j0]
    out += (rows[:, j1] - out) * tx[None, :]
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


def _binomial(a: np.ndarray) -> np.ndarray:
    """[1 4 6 4 1]/16 in both directions: a gaussian of sigma 1."""
    out = a
    for axis in (0, 1):
        p = np.pad(out, [(2, 2) if ax == axis else (0, 0) for ax in (0, 1)], mode="edge")
        n = out.shape[axis]

        def s(k: int, p=p, n=n, axis=axis) -> np.ndarray:
            return p[k : k + n] if axis == 0 else p[:, k : k + n]

        out = (s(0) + s(4)) * F32(1 / 16)
        out += (s(1) + s(3)) * F32(4 / 16)
        out += s(2) * F32(6 / 16)
    return out


def _box3(a: np.ndarray, sigma: float) -> np.ndarray:
    # Three box passes of width 2r+1 have variance 3 * ((2r+1)^2 - 1) / 12.
    r = max(1, round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2))
    out = a
    for _ in range(3):
        out = _box(_box(out, r, 0), r, 1)
    return out


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate gaussian blur (float32, new array), fast for any sigma.

    Small sigmas use a binomial kernel at full size; larger ones blur a box-averaged copy
    (binomial or three box passes) and interpolate back, which costs about the same for any radius.
    """
    a = a.astype(F32, copy=False)
    if sigma < 0.35:
        return a.copy()
    if sigma <= 1.5:
        out = _binomial(a)
        return out if sigma <= 1.2 else _binomial(out)
    h, w = a.shape
    f = max(2, min(int(sigma / 1.5), max(1, min(h, w) // 4)))
    small = downsample(a, f)
    rest = math.sqrt(max(sigma * sigma / (f * f) - 0.35, 0.25))
    if rest > 1.6:
        small = _box3(small, rest)
    else:
        small = _binomial(small) if rest <= 1.2 else _binomial(_binomial(small))
    return upsample(small, h, w)


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
    h, w = coverage.shape
    f = max(1, math.ceil(max_dist / 32))
    small = downsample(coverage.astype(F32, copy=False), f)
    inside = small >= 0.5
    cap = math.ceil(max_dist / f) + 2
    if not inside.any():
        return np.full((h, w), F32(max_dist))
    g2 = _row_distance(inside, cap) ** 2
    out = g2.copy()
    for dy in range(1, cap + 1):
        dd = F32(dy * dy)
        np.minimum(out[dy:], g2[:-dy] + dd, out=out[dy:])
        np.minimum(out[:-dy], g2[dy:] + dd, out=out[:-dy])
    d = np.sqrt(out)
    d *= F32(f)
    if f > 1:
        d = _binomial(d)
        d = upsample(d, h, w)
    return np.minimum(d, F32(max_dist))


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
    """Anti-aliased line of `width` px along the 0.5 contour of a coverage mask (0..1)."""
    f = blur(coverage, 0.8)
    gy, gx = np.gradient(f)
    g = np.sqrt(gx * gx + gy * gy)
    del gx, gy
    np.maximum(g, F32(1e-3), out=g)
    d = np.abs(f - F32(0.5))
    d /= g
    del g, f
    return isoline(d, 0.0, width)
