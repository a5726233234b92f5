"""The quiet map (app/render/quiet.py) is judged a band of rows at a time, never on full-size masks: the same sums
as over the whole picture at once, whatever the band."""

from __future__ import annotations

import numpy as np
import pytest

from app.mapdata.model import Kind
from app.render import quiet
from app.render.layers import Layers


def whole_picture(layers: Layers, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The length of line per working cell and the track cells, worked out over whole masks (the old way)."""
    w, h = shape
    busy = [m for k, m in layers.masks.items() if k in quiet.SOLID_KINDS] + list(layers.marks.values())
    drawn = np.zeros((layers.height, layers.width), bool)
    for m in busy:
        drawn |= m > quiet.DRAWN
    covs = [np.where(drawn, 0, layers.lineart).astype(np.uint8), *busy]
    rows, cols = quiet._starts(layers.height, h), quiet._starts(layers.width, w)
    out = np.zeros((h, w))
    for cov in covs:
        d = cov > quiet.DRAWN
        edges = np.count_nonzero(d[1:] != d[:-1]) + np.count_nonzero(d[:, 1:] != d[:, :-1])
        if edges:
            ink = np.add.reduceat(np.add.reduceat(cov, rows, axis=0, dtype=np.int64), cols, axis=1)
            width = max(2.0 * np.count_nonzero(d) / edges, 1.0)
            out += ink * (np.sqrt(w / layers.width * h / layers.height) / (255.0 * width))
    track = layers.masks[Kind.TRACK] > quiet.DRAWN
    hard = np.logical_or.reduceat(np.logical_or.reduceat(track, rows, axis=0), cols, axis=1)
    return out, hard


def synthetic(W: int, H: int) -> Layers:
    rng = np.random.default_rng(3)

    def lines(n: int) -> np.ndarray:
        m = np.zeros((H, W), np.uint8)
        for _ in range(n):
            if rng.random() < 0.5:
                y = rng.integers(0, H)
                m[y : y + rng.integers(1, 4), rng.integers(0, W // 2) : rng.integers(W // 2, W)] = rng.integers(70, 256)
            else:
                x = rng.integers(0, W)
                m[rng.integers(0, H // 2) : rng.integers(H // 2, H), x : x + 2] = 255
        return m

    masks = {Kind.RESIDENTIAL: lines(40), Kind.BUILDING: lines(30), Kind.TRACK: lines(3), Kind.WATER: lines(5)}
    return Layers(W, H, masks, np.zeros((H, W, 3), np.uint8), lines(25), marks={Kind.OTHER: lines(6)})


@pytest.mark.parametrize(("size", "band"), [((700, 1100), 37), ((700, 1100), 256), ((300, 200), 7)])
def test_banded_sums_equal_the_whole_picture(size, band, monkeypatch):
    monkeypatch.setattr(quiet, "BAND_ROWS", band)
    layers = synthetic(*size)
    qm = quiet.QuietMap.of(size, layers=layers)
    length, hard = whole_picture(layers, (qm.w, qm.h))
    assert np.array_equal(qm._busy, quiet._integral(length))
    assert np.array_equal(qm._hard, quiet._integral(hard)) and hard.any()


def test_detail_of_a_painted_image_in_bands_equals_the_whole(monkeypatch):
    monkeypatch.setattr(quiet, "BAND_ROWS", 13)
    rng = np.random.default_rng(5)
    image = (rng.random((90, 70, 3)) ** 4 * 255).astype(np.uint8)
    gray = image.astype(np.float32).mean(axis=2)
    grad = np.zeros(gray.shape, np.float32)
    grad[:-1] += np.abs(np.diff(gray, axis=0))
    grad[:, :-1] += np.abs(np.diff(gray, axis=1))
    whole = grad > 24.0
    assert np.array_equal(np.vstack([quiet.detail_rows(image, r, min(r + 13, 90)) for r in range(0, 90, 13)]), whole)
    qm = quiet.QuietMap.of((70, 90), image=image)
    assert np.array_equal(
        qm._busy, quiet._integral(quiet.line_length([whole.view(np.uint8) * np.uint8(255)], (70, 90)))
    )
