import numpy as np
import pytest
import shapely

from app.carto.compose import compose
from app.carto.projection import choose_projection, occupied_arc
from app.mapdata.model import MapData


def test_city_gets_a_local_transverse_mercator_centred_on_the_data():
    proj = choose_projection((13.30, 52.45, 13.50, 52.55))
    assert proj.kind == "local"
    assert "+proj=tmerc" in proj.crs
    assert proj.lon_0 == pytest.approx(13.40)
    assert proj.lat_0 == pytest.approx(52.50)


def test_continent_gets_equal_earth():
    proj = choose_projection((-10.0, 35.0, 40.0, 70.0))
    assert proj.kind == "world"
    assert "+proj=eqearth" in proj.crs


def test_tall_country_sized_data_is_still_local_but_tall_continent_is_world():
    assert choose_projection((-75.0, -20.0, -65.0, 15.0)).kind == "local"
    assert choose_projection((-75.0, -55.0, -65.0, 12.0)).kind == "world"


def test_occupied_arc_finds_the_short_way_round():
    assert occupied_arc(np.array([-179.5, 178.0, 179.0, -178.2])) == pytest.approx((178.0, 181.8))
    assert occupied_arc(np.array([10.0, 20.0, 15.0])) == pytest.approx((10.0, 20.0))


def test_antimeridian_data_is_centred_near_180():
    lons = np.array([177.0, 178.5, 179.9, -179.9, -178.0])
    proj = choose_projection((-179.9, -19.0, 179.9, -15.0), lons)
    assert proj.kind == "local"
    assert abs(abs(proj.lon_0) - 180.0) < 2.0
    assert proj.crosses_antimeridian
    w, _, e, _ = proj.window
    assert e - w == pytest.approx(5.0, abs=0.01)  # 177 .. 182 (= -178)


def test_world_data_is_not_mistaken_for_antimeridian_data():
    lons = np.linspace(-180, 180, 50)
    proj = choose_projection((-180.0, -60.0, 180.0, 80.0), lons)
    assert proj.kind == "world"
    assert proj.lon_0 == 0.0
    assert proj.window[0] == -180.0 and proj.window[2] == 180.0


def test_fiji_renders_as_one_compact_area():
    west = shapely.box(177.0, -19.0, 180.0, -16.0)  # islands west of the antimeridian
    east = shapely.box(-180.0, -17.0, -178.0, -15.0)  # and east of it
    data = MapData.from_lists([west, east], ["admin", "admin"], ["Viti Levu", "Lau"])
    scene = compose(data, size=(800, 600))
    # Stretched across the world, the islands would be slivers far apart; compact, they fill the canvas.
    covered = shapely.area(shapely.union_all(scene.geometries))
    assert covered > 0.3 * 800 * 600
    b0, b1 = (g.bounds for g in scene.geometries)
    assert abs(b0[2] - b1[0]) < 5  # the two sides meet at the antimeridian
    lw, _, le, _ = scene.frame.lonlat_bounds
    assert 170 < lw < 180 < le < 190


def test_track_jumping_over_the_antimeridian_stays_short():
    track = shapely.LineString([(179.2, -17.0), (179.8, -17.1), (-179.9, -17.2), (-179.3, -17.0)])
    data = MapData.from_lists([track], ["track"], ["Sailing"])
    scene = compose(data, size=(800, 600))
    assert "+proj=tmerc" in scene.frame.crs
    x0, _, x1, _ = scene.geometries[0].bounds
    assert x1 - x0 == pytest.approx(800 - 2 * scene.frame.margin, abs=1.0)  # fills the canvas, one piece
    assert shapely.get_num_coordinates(scene.geometries[0]) >= 3


def test_world_polygon_survives_a_world_projection_centred_off_greenwich():
    land = shapely.Point(10, 50).buffer(20)
    sea = shapely.box(-180, -90, 180, 90).difference(land)
    data = MapData.from_lists([sea, land], ["sea", "admin"], ["Sea", "Land"], extent=(-15.0, 28.0, 35.0, 70.0))
    scene = compose(data, size=(600, 450))
    assert "+proj=eqearth" in scene.frame.crs and "+lon_0=10" in scene.frame.crs
    sea_px = scene.geometries[0]
    assert sea_px.contains(shapely.Point(5, 5))  # the canvas corner is open sea, not folded away
    assert not sea_px.contains(shapely.Point(300, 225))  # the land in the middle is not sea
