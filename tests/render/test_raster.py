import numpy as np
import pytest
import shapely

from app.carto.compose import compose
from app.carto.scene import Frame, Scene
from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from app.mapdata.model import Kind
from app.render import semantic as sem
from app.render.layers import RasterSpec
from app.render.raster import rasterize
from app.render.skpath import build_path, build_path_slow, line_parts, polygon_parts


def pixel_scene(items, size=(200, 100)):
    frame = Frame(size[0], size[1], 0, 0.0, "EPSG:3857", 1.0, (1, 0, 0, 0, -1, 0), (0, 0, 1, 1))
    geoms = np.empty(len(items), object)
    geoms[:] = [g for g, _ in items]
    kinds = np.empty(len(items), object)
    kinds[:] = [Kind(k) for _, k in items]
    names = np.empty(len(items), object)
    names[:] = [None] * len(items)
    return Scene(frame, geoms, kinds, names)


def test_polygon_hole_stays_empty():
    ring = shapely.Polygon([(10, 10), (90, 10), (90, 90), (10, 90)], [[(30, 30), (70, 30), (70, 70), (30, 70)]])
    layers = rasterize(pixel_scene([(ring, "park")], (100, 100)))
    mask = layers.mask(Kind.PARK)
    assert mask[50, 50] == 0  # inside the hole
    assert mask[20, 20] == 255  # on the ring
    assert mask[5, 5] == 0
    assert tuple(layers.structure[50, 50]) == sem.BACKGROUND
    assert tuple(layers.structure[20, 20]) == sem.PALETTE[Kind.PARK]


def test_overlapping_polygons_of_one_kind_union_instead_of_cancelling():
    a = shapely.box(10, 10, 60, 60)
    b = shapely.box(40, 40, 90, 90)
    mask = rasterize(pixel_scene([(a, "building"), (b, "building")], (100, 100))).mask(Kind.BUILDING)
    assert mask[50, 50] == 255


def test_edges_are_anti_aliased():
    line = shapely.LineString([(5, 5), (190, 77)])
    mask = rasterize(pixel_scene([(line, "primary")])).mask(Kind.PRIMARY)
    partial = np.count_nonzero((mask > 0) & (mask < 255))
    assert partial > 50
    tri = shapely.Polygon([(10, 10), (190, 30), (40, 90)])
    mask = rasterize(pixel_scene([(tri, "water")])).mask(Kind.WATER)
    assert np.count_nonzero((mask > 0) & (mask < 255)) > 50


def coverage_width(kind, spec=None, size=(200, 100)):
    line = shapely.LineString([(10, 50.5), (190, 50.5)])
    mask = rasterize(pixel_scene([(line, kind)], size), spec).mask(Kind(kind))
    return mask[:, 100].sum() / 255.0  # px of coverage across the line


def test_widths_follow_road_class_and_image_size():
    motorway, path = coverage_width("motorway"), coverage_width("path")
    assert motorway > 2.5 * path
    # 100 px short side → widths at 1024 scaled by 100/1024.
    assert motorway == pytest.approx(5.0 * 100 / 1024, abs=0.15)
    big = coverage_width("motorway", size=(2048, 2048))
    assert big == pytest.approx(10.0, abs=0.3)


def test_width_scale_and_overrides():
    over = RasterSpec(widths={Kind.RESIDENTIAL: 7.0})
    assert coverage_width("residential", over, size=(1024, 1024)) == pytest.approx(7.0, abs=0.3)
    doubled = RasterSpec(widths={Kind.RESIDENTIAL: 7.0}, width_scale=2.0)
    assert coverage_width("residential", doubled, size=(1024, 1024)) == pytest.approx(14.0, abs=0.3)
    assert coverage_width("secondary", RasterSpec(width_scale=3.0), size=(1024, 1024)) == pytest.approx(9.6, abs=0.3)


def test_dashed_kind_has_gaps():
    line = shapely.LineString([(10, 50), (190, 50)])
    spec = RasterSpec(widths={Kind.PATH: 4.0}, dashes={Kind.PATH: (30.0, 30.0)})
    mask = rasterize(pixel_scene([(line, "path")], (1024, 1024)), spec).mask(Kind.PATH)
    row = mask[50, 10:190]
    assert (row == 0).sum() > 30 and (row == 255).sum() > 30


def test_structure_colours_and_line_art():
    water = shapely.box(10, 10, 90, 90)
    road = shapely.LineString([(100, 50), (190, 50)])
    rail = shapely.LineString([(100, 80.5), (190, 80.5)])
    poi = shapely.Point(150, 20)
    layers = rasterize(pixel_scene([(water, "water"), (road, "primary"), (rail, "rail"), (poi, "poi")], (1024, 1024)))
    s = layers.structure
    assert s.shape == (1024, 1024, 3) and s.dtype == np.uint8
    assert tuple(s[50, 50]) == sem.PALETTE[Kind.WATER]
    assert tuple(s[50, 150]) == sem.PALETTE[Kind.PRIMARY]
    assert tuple(s[80, 150]) == sem.PALETTE[Kind.RAIL]
    assert tuple(s[5, 500]) == sem.BACKGROUND
    art = layers.lineart
    assert art[10, 50] > 0 and art[50, 50] == 0  # shore line, not the water inside
    assert art[50, 150] == 255  # road line
    assert layers.mask(Kind.POI)[20, 150] == 255 and layers.mask(Kind.POI)[20, 170] == 0
    assert set(layers.masks) == {Kind.WATER, Kind.PRIMARY, Kind.RAIL, Kind.POI}
    assert layers.mask(Kind.FOREST).max() == 0


def test_fast_and_portable_path_builders_agree():
    geoms = np.array(
        [
            shapely.box(0, 0, 5, 5).difference(shapely.box(1, 1, 2, 2)),
            shapely.Point(3, 3).buffer(2),
            shapely.box(7, 7, 9, 9),
        ],
        dtype=object,
    )
    rings = polygon_parts(geoms)
    assert build_path(rings) == build_path_slow(rings)
    lines = line_parts(
        np.array(
            [
                shapely.LineString([(0, 0), (1, 1), (2, 0)]),
                shapely.MultiLineString([[(5, 5), (6, 6)], [(7, 7), (8, 9)]]),
            ]
        )
    )
    assert build_path(lines) == build_path_slow(lines)
    assert build_path(lines).countPoints() == 7


def test_cancel_stops_rasterize():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        rasterize(pixel_scene([(shapely.box(1, 1, 5, 5), "park")]), cancel=token)


def test_city_rasterizes_every_kind(city):
    scene = compose(city, size=(512, 384))
    layers = rasterize(scene)
    assert (layers.width, layers.height) == (512, 384)
    for kind in (Kind.SEA, Kind.BUILDING, Kind.RESIDENTIAL, Kind.MOTORWAY, Kind.TRACK, Kind.POI):
        assert layers.mask(kind).max() > 200, kind
    assert layers.lineart.dtype == np.uint8 and layers.lineart.shape == (384, 512)
