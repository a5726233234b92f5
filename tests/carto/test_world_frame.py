"""World-scale framing: the globe's outline is framed whole, and the scale's spread across the picture is known
(the overlay draws no linear scale bar where it exceeds 10%)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from app.carto.compose import compose
from app.carto.framing import BAND_GAP, scale_spread, to_pixels
from app.carto.projection import choose_projection
from app.mapdata.model import Kind, MapData


def _world_like(top: float = 83.6) -> MapData:
    """Blocky continents from Antarctica (-90) up to `top` (Natural Earth's land stops at 83.6° N)."""
    land = [shapely.box(-180, -90, 180, -70)]  # Antarctica's ice, to the pole
    land += [shapely.box(-170 + 40 * i, -50 + 20 * (i % 4), -140 + 40 * i, -20 + 20 * (i % 4)) for i in range(9)]
    land.append(shapely.box(-60, 60, -20, top))  # Greenland
    return MapData.from_lists(land, ["admin"] * len(land), [f"Land {i}" for i in range(len(land))])


def _town() -> MapData:
    geoms = [shapely.box(13.30, 52.45, 13.36, 52.50), shapely.LineString([(13.31, 52.47), (13.50, 52.55)])]
    return MapData.from_lists(geoms, ["park", "primary"], ["Tiergarten", "Main Road"])


def _globe_px(scene) -> np.ndarray:
    """Pixel bounds of the projection's whole outline of the globe on this scene's frame."""
    proj = choose_projection((-180, -90, 180, 90))
    globe = shapely.segmentize(shapely.box(-180, -90, 180, 90), 1.0)
    return shapely.bounds(to_pixels(np.array([globe], object), proj, scene.frame))[0]


@pytest.mark.parametrize("size", [(1200, 800), (800, 1000), (2000, 700)])
def test_a_world_map_frames_the_whole_globe_pole_to_pole(size):
    scene = compose(_world_like(), size=size)
    W, H = size
    assert scene.frame.lonlat_bounds[1] == -90.0 and scene.frame.lonlat_bounds[3] == 90.0
    gx0, gy0, gx1, gy1 = _globe_px(scene)
    assert gx0 >= 0 and gx1 <= W and gy0 >= 0 and gy1 <= H  # the outline lies on the canvas
    # Land and the sea drawn around it fill the globe's whole outline: up to the pole's line, not to 83.6° N.
    assert any(k is Kind.SEA for k in scene.kinds)
    sx0, sy0, sx1, sy1 = shapely.bounds(shapely.union_all([g for g in scene.geometries if g is not None]))
    assert sy0 == pytest.approx(gy0, abs=0.75) and sy1 == pytest.approx(gy1, abs=0.75)
    assert sx0 == pytest.approx(gx0, abs=0.75) and sx1 == pytest.approx(gx1, abs=0.75)


def test_wide_data_far_from_the_poles_is_not_stretched_to_them():
    band = [shapely.box(-180 + 30 * i, -20, -160 + 30 * i, 25) for i in range(12)]
    proj = choose_projection(MapData.from_lists(band, ["admin"] * 12, [None] * 12).frame_bounds())
    assert proj.window[1] == -20 and proj.window[3] == 25


def test_scale_spread_tells_a_city_from_a_continent_and_the_world():
    assert scale_spread(compose(_town(), size=(1000, 800)).frame) < 1.02
    europe = [shapely.box(-10, 35, 0, 45), shapely.box(30, 60, 40, 70)]
    spread_eu = scale_spread(compose(MapData.from_lists(europe, ["admin"] * 2, [None] * 2), size=(1000, 800)).frame)
    assert spread_eu > 1.10
    spread_world = scale_spread(compose(_world_like(), size=(1200, 800)).frame)
    assert spread_world > 2.0


def test_a_reserved_band_frames_the_map_above_it_and_nothing_is_drawn_there():
    city = _town()
    free = compose(city, size=(800, 600))
    banded = compose(city, size=(800, 600), reserve=(0, 150))
    lowest = shapely.bounds(np.array([g for g in banded.geometries if g is not None], object))[:, 3].max()
    assert lowest <= 450 + 4.5  # the clip pad
    assert banded.frame.meters_per_px > free.frame.meters_per_px  # smaller, to fit above the band
    # The window still fits between the margins above the band: its projected box spans ~the free height.
    proj = choose_projection(city.frame_bounds())
    win = shapely.segmentize(shapely.box(*proj.window), 1e-4)
    _, y0, _, y1 = shapely.bounds(to_pixels(np.array([win], object), proj, banded.frame))[0]
    m = banded.frame.margin
    # Beside the band a smaller gap (BAND_GAP of the margin) replaces the margin: the map reaches closer to it.
    assert y0 >= m - 1 and y1 <= 450 - BAND_GAP * m + 1
    assert abs((y0 - m) - (450 - BAND_GAP * m - y1)) < 2  # centred in the rows between the margin and the gap
