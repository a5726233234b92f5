"""The furniture is laid out the same at every resolution: the same map rendered small and at three times the size
puts its title, scale bar, compass and track furniture (profile strip, legend) at the same places of the page, at
the same sizes, so an export is the preview at more pixels (app/render/quiet.py judges quiet places on a fixed
working grid, by the length of data under a box rather than its pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from app.jobs.render import RenderRequest, _scene_and_layers, load
from app.paths import resource_root
from app.render.overlay import layout_overlay
from app.render.quiet import QuietMap
from app.styles.catalog import get_style

EXAMPLES = resource_root() / "examples"
DEMO = [EXAMPLES / "harbour_town.geojson", EXAMPLES / "harbour_hike.gpx"]
SMALL, BIG = (800, 600), (2400, 1800)
# Of the page's width or height: one step of the search's grid of places (1/48 of the short side: 1.6% of a 4:3
# page's width), since two neighbouring places can hide nearly the same data.
TOLERANCE = 0.016


@pytest.fixture(scope="module")
def demo():
    return load(DEMO)


def furniture(data, style: str, size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Each piece of furniture's box, in fractions of the page: laid out as render() lays it out, from the composed
    scene and the rasterized layers (the painting plays no part in where the furniture goes, so it is not made)."""
    st = get_style(style)
    scene, layers, _, _ = _scene_and_layers(RenderRequest(DEMO, style=style, size=size), data, st, {})
    lay = layout_overlay(scene, st.typography, image=layers.structure, layers=layers, labels=False)
    items = {"title": lay.cartouche, "scale bar": lay.scale_bar, "north arrow": lay.north_arrow}
    items |= {"profile": lay.tracks.profile, "legend": lay.tracks.legend}
    W, H = size
    return {name: np.array(item.box) / [W, H, W, H] for name, item in items.items() if item is not None}


@pytest.mark.parametrize(
    "style",
    [
        "blueprint",
        pytest.param(
            "fantasy",
            marks=pytest.mark.xfail(
                strict=True,
                reason="the title finds a quiet place at 85% of its size at 2400×1800 but only at 70% at 800×600: "
                "the length of data is estimated as half the outline of each kind's pixels, which junctions of a "
                "street grid shorten more where lines are relatively thicker (a small picture), so the allowance "
                "(0.1% of all data) is ~16% smaller there and the title sits just over it",
            ),
        ),
        "ink",
        "noir",
        "parchment",
        "poster",
        "watercolor",
    ],
)
def test_furniture_keeps_its_place_and_size_at_three_times_the_pixels(demo, style):
    small, big = furniture(demo, style, SMALL), furniture(demo, style, BIG)
    assert "title" in small  # the demo has a title
    assert small.keys() == big.keys()
    for name, box in small.items():
        assert np.abs(box - big[name]).max() <= TOLERANCE, f"{style}: the {name} moved: {box} → {big[name]}"


def test_thin_lines_count_by_their_length_at_any_resolution():
    """A grid of one-pixel lines on a small page and the same lines two pixels wide on a page three times the size
    (relatively thinner: a raster's widths do not scale exactly) weigh the same on the working grid."""

    def page(scale: int, width: int) -> np.ndarray:
        cov = np.zeros((480 * scale, 640 * scale), np.uint8)
        for i in range(20, 640, 37):
            cov[:, i * scale : i * scale + width] = 255
        for j in range(15, 480, 41):
            cov[j * scale : j * scale + width, :] = 255
        return cov

    small = QuietMap([page(1, 1)], None, (640, 480))
    big = QuietMap([page(3, 2)], None, (1920, 1440))
    assert small.total == pytest.approx(big.total, rel=0.05)
    for box in ((100.0, 100.0, 200.0, 150.0), (400.0, 300.0, 630.0, 470.0), (5.0, 5.0, 60.0, 40.0)):
        big_box = tuple(3 * v for v in box)  # the same place on both pages
        assert small.covered(box)[0] > 0
        assert small.covered(box)[0] == pytest.approx(big.covered(big_box)[0], rel=0.1)
    # ...where counting pixels would weigh the small page's lines as half again as heavy
    assert (page(1, 1) > 0).mean() > 1.4 * (page(3, 2) > 0).mean()
