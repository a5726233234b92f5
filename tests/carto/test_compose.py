import math

import numpy as np
import pyproj
import pytest
import shapely

from app.carto.compose import compose
from app.carto.framing import lonlat_to_px
from app.errors import Cancelled, InputError
from app.jobs.cancel import CancelToken
from app.mapdata.model import Kind, MapData

GEOD = pyproj.Geod(ellps="WGS84")


def city(extent=None):
    geoms = [
        shapely.box(13.30, 52.45, 13.36, 52.50),
        shapely.LineString([(13.31, 52.47), (13.50, 52.55)]),
        shapely.Point(13.45, 52.52),
    ]
    return MapData.from_lists(geoms, ["park", "primary", "poi"], ["Tiergarten", "Main Road", "Cafe"], extent=extent)


def coords_of(scene):
    return shapely.get_coordinates(scene.geometries)


@pytest.mark.parametrize("bearing", [90.0, 0.0, 37.0])
def test_meters_per_px_matches_a_known_ground_distance(bearing):
    scene = compose(city(), size=(1000, 800))
    lon1, lat1, _ = GEOD.fwd(13.40, 52.50, bearing, 1000.0)
    (c0, c1), (r0, r1) = lonlat_to_px(scene.frame, [13.40, lon1], [52.50, lat1])
    px = math.hypot(c1 - c0, r1 - r0)
    assert px * scene.frame.meters_per_px == pytest.approx(1000.0, rel=0.01)


def test_data_lands_inside_the_margins_and_fills_one_axis():
    scene = compose(city(), size=(1000, 600), margin=0.1)
    m = scene.frame.margin
    assert m == 60
    xy = coords_of(scene)
    assert xy[:, 0].min() >= m - 0.5 and xy[:, 0].max() <= 1000 - m + 0.5
    assert xy[:, 1].min() >= m - 0.5 and xy[:, 1].max() <= 600 - m + 0.5
    spans = xy.max(axis=0) - xy.min(axis=0)
    assert spans[0] == pytest.approx(1000 - 2 * m, abs=1.0) or spans[1] == pytest.approx(600 - 2 * m, abs=1.0)


def test_aspect_is_preserved():
    # A 2 km × 2 km square on a wide canvas stays square in pixels.
    lon1, _, _ = GEOD.fwd(8.0, 47.0, 90.0, 2000.0)
    _, lat1, _ = GEOD.fwd(8.0, 47.0, 0.0, 2000.0)
    data = MapData.from_lists([shapely.box(8.0, 47.0, lon1, lat1)], ["park"], [None])
    scene = compose(data, size=(900, 300))
    x0, y0, x1, y1 = scene.geometries[0].bounds
    assert (x1 - x0) == pytest.approx(y1 - y0, rel=0.01)
    assert (x1 - x0) == pytest.approx(300 - 2 * scene.frame.margin, abs=1.0)


def test_rotation_turns_north_clockwise():
    data = MapData.from_lists(
        [shapely.Point(10.0, 50.0), shapely.Point(10.0, 50.01)], ["poi", "poi"], ["south", "north"]
    )
    up = compose(data, size=(600, 600))
    right = compose(data, size=(600, 600), rotation=90)
    (s, n) = [p.coords[0] for p in up.geometries]
    assert n[1] < s[1] and n[0] == pytest.approx(s[0], abs=0.01)  # north is up
    (s, n) = [p.coords[0] for p in right.geometries]
    assert n[0] > s[0] and n[1] == pytest.approx(s[1], abs=0.01)  # north is to the right
    assert right.frame.rotation == 90


def test_rotated_frame_keeps_everything_inside():
    scene = compose(city(), size=(800, 500), rotation=33)
    xy = coords_of(scene)
    assert xy.min() >= -0.5 and xy[:, 0].max() <= 800.5 and xy[:, 1].max() <= 500.5


def test_lonlat_bounds_cover_the_data():
    scene = compose(city(), size=(800, 800))
    w, s, e, n = scene.frame.lonlat_bounds
    assert w < 13.30 and e > 13.50 and s < 52.45 and n > 52.55


def test_features_are_clipped_to_the_canvas_and_vanishing_ones_dropped():
    far_line = shapely.LineString([(13.40, 52.50), (15.0, 52.50)])
    far_park = shapely.box(16.0, 40.0, 16.1, 40.1)  # entirely outside the declared extent
    data = MapData.from_lists(
        [far_line, far_park, shapely.Point(13.4, 52.5)],
        ["primary", "park", "poi"],
        [None] * 3,
        extent=(13.35, 52.45, 13.45, 52.55),
    )
    scene = compose(data, size=(500, 500))
    assert list(scene.kinds) == [Kind.PRIMARY, Kind.POI]  # the park vanished; drawing order kept
    xy = coords_of(scene)
    assert xy.min() >= -4.01 and xy.max() <= 504.01


def test_simplification_removes_sub_pixel_wiggles():
    x = np.linspace(13.3, 13.5, 5000)
    y = 52.5 + 1e-7 * np.sin(np.arange(5000))
    data = MapData.from_lists([shapely.LineString(np.column_stack([x, y]))], ["residential"], [None])
    scene = compose(data, size=(400, 400))
    assert shapely.get_num_coordinates(scene.geometries[0]) < 10


def test_kinds_filter_and_empty_result():
    scene = compose(city(), size=(300, 300), kinds={Kind.PARK})
    assert set(scene.kinds) == {Kind.PARK}
    with pytest.raises(InputError):
        compose(city(), size=(300, 300), kinds={Kind.RAIL})


def test_title_and_subtitle_are_carried():
    scene = compose(city(), size=(300, 200), title="Berlin", subtitle="West")
    assert (scene.title, scene.subtitle) == ("Berlin", "West")
    assert scene.size == (300, 200)


@pytest.mark.parametrize("size", [(0, 100), (100, 100000), ("a", 3)])
def test_bad_size_is_an_input_error(size):
    with pytest.raises(InputError):
        compose(city(), size=size)


def test_cancel_stops_compose():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        compose(city(), size=(300, 300), cancel=token)


def test_single_point_gets_a_sensible_scale():
    data = MapData.from_lists([shapely.Point(2.35, 48.85)], ["poi"], ["Paris"])
    scene = compose(data, size=(800, 600))
    assert 0.1 < scene.frame.meters_per_px < 10
    assert scene.geometries[0].coords[0] == pytest.approx((400, 300), abs=0.5)
