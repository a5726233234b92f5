import math

import numpy as np
import pytest

from app.styles.filters import blur, distance_from, edge_line, upsample
from app.styles.noise import fibres, fractal_noise, value_noise


@pytest.mark.parametrize("sigma", [1.0, 3.0, 8.0, 25.0])
def test_blur_spreads_a_step_like_a_gaussian(sigma):
    a = np.zeros((64, 400), np.float32)
    a[:, 200:] = 1
    row = blur(a, sigma)[32]
    assert row[200 - int(4 * sigma) - 2] < 0.02 and row[200 + int(4 * sigma) + 2] > 0.98
    # Width of the 16%..84% ramp of a gaussian-blurred step is 2 sigma.
    lo, hi = np.searchsorted(row, 0.16), np.searchsorted(row, 0.84)
    assert abs((hi - lo) - 2 * sigma) <= max(1.5, 0.25 * sigma)
    assert abs(row.sum() - a[32].sum()) < 2  # preserves mass


def test_blur_keeps_dtype_and_does_not_touch_input():
    a = np.random.default_rng(0).random((50, 70), np.float32)
    before = a.copy()
    out = blur(a, 5)
    assert out.dtype == np.float32 and out.shape == a.shape
    assert np.array_equal(a, before)


def test_distance_from_a_point_is_euclidean():
    a = np.zeros((200, 300), np.float32)
    a[100, 150] = 1
    a[99:102, 149:152] = 1  # a 3x3 blob, centre (150, 100)
    d = distance_from(a, 60)
    for dx, dy in [(40, 0), (0, 40), (28, 28), (-30, 20)]:
        assert abs(d[100 + dy, 150 + dx] - math.hypot(dx, dy)) < 3.5
    assert d[0, 0] == pytest.approx(60)


def test_edge_line_sits_on_the_edge():
    a = np.zeros((40, 80), np.float32)
    a[:, 40:] = 1
    line = edge_line(a, 2.0)
    assert line[20, 38:42].max() > 0.8
    assert line[20, :34].max() == 0 and line[20, 46:].max() == 0
    assert 1.5 < line[20].sum() < 2.5


def test_upsample_preserves_constants_and_corners():
    s = np.arange(12, dtype=np.float32).reshape(3, 4)
    up = upsample(s, 30, 40)
    assert up.shape == (30, 40)
    assert up[0, 0] == pytest.approx(0) and up[-1, -1] == pytest.approx(11)
    assert np.all(np.diff(up, axis=1) >= -1e-5)


def test_noise_is_deterministic_and_normalised():
    a = fractal_noise(300, 400, 80, np.random.default_rng(5))
    b = fractal_noise(300, 400, 80, np.random.default_rng(5))
    c = fractal_noise(300, 400, 80, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(float(a.mean())) < 0.05 and 0.9 < float(a.std()) < 1.1
    v = value_noise(100, 100, 20, np.random.default_rng(1))
    assert v.min() >= -1 and v.max() <= 1
    # Smooth: neighbouring pixels differ far less than the range.
    assert np.abs(np.diff(v, axis=1)).max() < 0.3


def test_fibres_are_sparse_strokes():
    f = fibres(256, 256, 1.0, np.random.default_rng(2))  # uint8 coverage (the painter blends it band by band)
    assert f.dtype == np.uint8 and 0 < f.mean() < 0.1 * 255 and f.max() > 0.2 * 255


def test_offshore_distance_ignores_a_sea_cut_straight_by_the_frame():
    from app.mapdata.model import Kind
    from app.render.layers import Layers
    from app.styles.canvas import Canvas
    from app.styles.registry import offshore_distance, select_region

    h, w = 200, 300
    sea = np.zeros((h, w), np.uint8)
    sea[100:180, 20:280] = 255  # data extent ends at rows 180 and columns 20 / 280
    sea[100:110, 20:150] = 0  # ...and the coast is the top edge, with a little cape
    layers = Layers(w, h, {Kind.SEA: sea}, np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8))
    cv = Canvas.start(layers, {"paper": "#ffffff"})
    box, m = select_region(cv, ["sea"], 2)
    d = offshore_distance(cv, box, m, 30)
    at = lambda y, x: d[y - box[0].start, x - box[1].start]  # noqa: E731
    assert at(115, 100) < 8  # near the real coast
    assert at(170, 200) == pytest.approx(30, abs=1)  # near the cut bottom edge: open sea
    assert at(150, 24) == pytest.approx(30, abs=1) and at(150, 276) == pytest.approx(30, abs=1)
