"""The overlay is drawn a band of rows at a time (no RGBA copy of the whole picture): the same pixels as drawn at
once, labels, title card, scale bar and arrow cut by band edges included; `in_place` draws on the picture itself."""

from __future__ import annotations

import numpy as np
import pytest

from app.carto.compose import compose
from app.render import overlay
from app.render.typography import Typography


@pytest.fixture(scope="module")
def laid_out(city):
    scene = compose(city, size=(500, 380), title="Testhaven", subtitle="Harbour town", rotation=12)
    typo = Typography(cartouche="ornate", north_arrow="compass")
    return scene, typo, overlay.layout_overlay(scene, typo)


def test_bands_draw_the_same_pixels_as_one_pass(laid_out, monkeypatch):
    scene, typo, lay = laid_out
    rng = np.random.default_rng(2)
    painting = rng.integers(0, 256, (380, 500, 3), dtype=np.uint8)
    whole = np.dstack([painting, np.full((380, 500), 255, np.uint8)])
    overlay.draw_overlay(whole, lay, typo)
    # Skia's anti-aliasing where a band cuts through a shape can differ by a few levels of 255 on a few pixels
    # (measured: at most 3, on 0.03% of the pixels with 64-row bands; 1024-row bands are used)
    for band in (64, 1000):  # six cuts through text and furniture; one band
        monkeypatch.setattr(overlay, "BAND_ROWS", band)
        out = overlay.finish(painting, scene, typo, layout=lay)
        assert out is not painting and out.flags.c_contiguous
        assert np.abs(out.astype(int) - whole[..., :3]).max() <= 4, band
        assert np.mean((out != whole[..., :3]).any(axis=2)) < 1e-3
        assert (out != painting).any(axis=2).mean() > 0.01  # the overlay was drawn
    mask = overlay.overlay_mask((500, 380), lay, typo)
    clear = np.zeros((380, 500, 4), np.uint8)
    overlay.draw_overlay(clear, lay, typo)
    assert np.array_equal(mask, clear[..., 3] > 0)


def test_in_place_draws_on_the_picture_itself(laid_out):
    scene, typo, lay = laid_out
    painting = np.full((380, 500, 3), 200, np.uint8)
    copy = overlay.finish(painting.copy(), scene, typo, layout=lay)
    out = overlay.finish(painting, scene, typo, layout=lay, in_place=True)
    assert out is painting and np.array_equal(out, copy)
