"""A finished MapBrush PNG as a reference: its overlay is traced exactly and filled from around it."""

import numpy as np
import pytest

from app.cli import example_inputs
from app.export.png import read_metadata, write_png
from app.jobs.reference import clean_reference, dilate, fill_holes
from app.jobs.render import RenderRequest, render

SIZE = (640, 480)


def gradient(h=120, w=160):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1).astype(np.uint8)


def test_fill_holes_recovers_a_smooth_image_and_keeps_the_rest_exact():
    img = gradient()
    mask = np.zeros(img.shape[:2], bool)
    mask[40:60, 30:110] = True  # a "label" across the gradient
    damaged = img.copy()
    damaged[mask] = (0, 0, 0)
    out = fill_holes(damaged, mask)
    assert (out[~mask] == img[~mask]).all()
    err = np.abs(out[mask].astype(int) - img[mask].astype(int)).mean()
    assert err < 6, err  # black text would be ~130 away on average
    assert np.abs(damaged[mask].astype(int) - img[mask].astype(int)).mean() > 100


def test_fill_holes_edge_cases():
    img = gradient(17, 23)
    none = np.zeros(img.shape[:2], bool)
    assert (fill_holes(img, none) == img).all()
    every = np.ones(img.shape[:2], bool)
    assert (fill_holes(img, every) == 128).all()
    corner = none.copy()
    corner[:9, :9] = True  # a hole touching the border, at odd sizes
    assert fill_holes(img, corner).shape == img.shape


def test_dilate_grows_by_radius():
    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    assert dilate(m, 2).sum() == 25 and dilate(m, 0).sum() == 1


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A procedural render with labels, title, scale bar and north arrow, written and read back as a user has it."""
    req = RenderRequest(inputs=example_inputs(), style="parchment", size=SIZE, seed=2)
    res = render(req)
    out = tmp_path_factory.mktemp("ref") / "preview.png"
    write_png(out, res.image, res.metadata)
    return res, read_metadata(out)


def test_the_overlay_is_traced_exactly_and_filled(finished):
    res, meta = finished
    clean, why = clean_reference(res.image, meta, res.data)
    assert why is None
    overlay = np.any(res.image != res.sketch, axis=-1)  # every pixel the overlay changed
    assert overlay.mean() > 0.02  # the test has labels to remove
    still = np.all(clean == res.image, axis=-1)
    assert (still & overlay).mean() < 0.001 * overlay.mean() + 1e-9  # none left behind
    untouched = ~dilate(overlay, 3)
    assert still[untouched].mean() > 0.99  # the painting around them is kept as it was
    before = np.abs(res.image.astype(int) - res.sketch.astype(int))[overlay].mean()
    after = np.abs(clean.astype(int) - res.sketch.astype(int))[overlay].mean()
    assert after < 0.5 * before, (before, after)


def test_no_overlay_to_remove_when_it_was_switched_off(finished):
    res, meta = finished
    bare = dict(meta, labels=False, scale_bar=False, north_arrow=False, title=None)
    clean, why = clean_reference(res.sketch, bare, res.data)
    assert why is None and (clean == res.sketch).all()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"size": [320, 240]}, "resized"),
        ({"inputs": [{"name": "other.geojson", "sha256": "0" * 64}]}, "other map files"),
        ({"style": "no-such-style"}, "could not be traced"),
    ],
)
def test_a_reference_that_does_not_match_is_used_as_it_is_with_a_reason(finished, change, words):
    res, meta = finished
    clean, why = clean_reference(res.image, dict(meta, **change), res.data)
    assert (clean == res.image).all()
    assert words in why and "stay in the reference" in why


def test_images_not_made_by_mapbrush_are_left_alone(finished):
    res, _ = finished
    for meta in (None, {"app": "other"}, ["not", "a", "dict"]):
        clean, why = clean_reference(res.image, meta, res.data)
        assert why is None and (clean == res.image).all()
