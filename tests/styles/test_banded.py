"""The painter's band-by-band and tile-limited pieces give the same values as doing the whole at once (issue 14 §4:
print sizes in bounded memory). Small arrays; bands forced small so several are crossed."""

from __future__ import annotations

import numpy as np
import pytest

from app.styles import filters
from app.styles.filters import Blurred, blur, coverage, downsample, upsample
from app.styles.marks import warp
from app.styles.noise import fractal_field, fractal_noise

F32 = np.float32


@pytest.fixture(autouse=True)
def small_bands(monkeypatch):
    monkeypatch.setattr(filters, "BAND_PIXELS", 1000)
    monkeypatch.setattr(filters.bands, "__defaults__", (1000,))


def test_bands_cover_every_row_once():
    rows = [r for b in filters.bands(97, 30) for r in range(b.start, b.stop)]
    assert rows == list(range(97))


@pytest.mark.parametrize("sigma", [0.2, 1.0, 1.4, 3.0, 12.0])
def test_blurred_parts_and_in_place_blur_equal_the_blur(sigma):
    rng = np.random.default_rng(1)
    a8 = (rng.random((83, 61)) * 255).astype(np.uint8)
    a = coverage(a8)
    whole = blur(a, sigma)
    for src in (a, a8):
        parts = Blurred(src, sigma)
        assert np.array_equal(np.concatenate([parts.part(b) for b in filters.bands(83, 61)]), whole)
    same = a.copy()
    assert np.array_equal(blur(same, sigma, out=same), whole)


def test_downsample_of_uint8_is_that_of_its_coverage():
    a8 = (np.random.default_rng(2).random((50, 47)) * 255).astype(np.uint8)
    ref = np.pad(coverage(a8), ((0, 1), (0, 1)), mode="edge").reshape(17, 3, 16, 3).mean(axis=(1, 3), dtype=F32)
    assert np.array_equal(downsample(a8, 3), ref)


def test_upsample_parts_equal_the_whole():
    small = np.random.default_rng(3).random((7, 9), dtype=F32)
    whole = upsample(small, 64, 80)
    up = filters.Upsampler(small, 64, 80)
    assert np.array_equal(up.part(slice(10, 30), slice(5, 60)), whole[10:30, 5:60])
    assert whole[0, 0] == small[0, 0] and whole[-1, -1] == small[-1, -1]  # edges repeat


def test_noise_field_parts_equal_fractal_noise():
    whole = fractal_noise(90, 70, 30.0, np.random.default_rng(4), octaves=4)
    field = fractal_field(90, 70, 30.0, np.random.default_rng(4), octaves=4)
    assert np.array_equal(np.concatenate([field.part(b) for b in filters.bands(90, 70)]), whole)
    assert abs(float(whole.mean())) < 1e-3 and abs(float(whole.std()) - 1) < 0.05


def test_tile_limited_warp_equals_warping_everything(monkeypatch):
    import app.styles.marks as marks

    monkeypatch.setattr(marks, "WARP_TILE", 16)
    h, w = 120, 100
    a8 = np.zeros((h, w), np.uint8)
    a8[60, 10:90] = 255  # a thin border line
    a8[20:23, 40] = 128
    dx = fractal_field(h, w, 20.0, np.random.default_rng(5), octaves=2)
    dy = fractal_field(h, w, 20.0, np.random.default_rng(6), octaves=2)
    shift = 3.0
    got = warp(a8, dx, dy, shift)
    # the whole picture warped the plain way
    a = coverage(a8)
    x = np.arange(w, dtype=F32)[None, :] + dx.part() * F32(shift)
    y = np.arange(h, dtype=F32)[:, None] + dy.part() * F32(shift)
    np.clip(x, 0, w - 1, out=x)
    np.clip(y, 0, h - 1, out=y)
    x0, y0 = np.minimum(x.astype(np.intp), w - 2), np.minimum(y.astype(np.intp), h - 2)
    fx, fy = x - x0, y - y0
    top = a[y0, x0] * (F32(1) - fx) + a[y0, x0 + 1] * fx
    bottom = a[y0 + 1, x0] * (F32(1) - fx) + a[y0 + 1, x0 + 1] * fx
    assert np.array_equal(got, (top * (F32(1) - fy) + bottom * fy).astype(F32))  # float32 kept, not float64
    assert got.max() > 0.5  # the line is there, moved


@pytest.mark.parametrize("mode", ["normal", "multiply", "screen"])
def test_sparse_and_dense_blend_agree(mode):
    from app.styles.canvas import Canvas

    rng = np.random.default_rng(7)
    rgb = rng.random((40, 50, 3), dtype=F32)
    alpha = np.zeros((40, 50), np.uint8)
    alpha[5, :] = 200  # a line: sparse bands
    alpha[20:40] = (rng.random((20, 50)) * 255).astype(np.uint8)  # dense bands
    colour = np.array([0.2, 0.5, 0.9], F32)
    cv = Canvas(layers=None, palette={}, rgb=rgb.copy(), unit=1.0)
    cv.blend(alpha, colour, mode, scale=0.7)
    a = coverage(alpha)[..., None] * F32(0.7)
    want = rgb.copy()
    if mode == "multiply":
        want *= F32(1) - a * (F32(1) - colour)
    elif mode == "screen":
        want += a * (F32(1) - want) * colour
    else:
        want += a * (colour - want)
    assert np.array_equal(cv.rgb, want)
