from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, LineString, Point, Polygon

from app.mapdata.clean import clean_geometries
from app.mapdata.limits import DEFAULT_LIMITS, Limits


def arr(*geoms) -> np.ndarray:
    out = np.empty(len(geoms), object)
    out[:] = list(geoms)
    return out


def test_drops_bad_rows_and_keeps_the_rest_in_order():
    with np.errstate(invalid="ignore"):
        nan_line = LineString([(0, 0), (np.nan, 1)])
    geoms = arr(Point(1, 2), None, nan_line, Point(200, 0), Polygon(), Point(3, 4, 5))
    c = clean_geometries(geoms, DEFAULT_LIMITS)
    assert c.index.tolist() == [0, 5]
    assert c.missing == 2 and c.invalid == 2
    assert not shapely.has_z(c.geometries).any()


def test_custom_coordinate_range():
    c = clean_geometries(arr(Point(10, 10), Point(1, 1)), Limits(lon_range=(0, 5), lat_range=(0, 5)))
    assert c.index.tolist() == [1]


def test_bowtie_polygon_repaired():
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    c = clean_geometries(arr(bowtie), DEFAULT_LIMITS)
    assert shapely.is_valid(c.geometries).all()
    assert c.geometries[0].area == 2.0


def test_collections_split_by_dimension():
    gc = GeometryCollection([Point(0, 0), LineString([(0, 0), (1, 1)]), Point(1, 1), GeometryCollection([Point(2, 2)])])
    c = clean_geometries(arr(Point(5, 5), gc, Point(6, 6)), DEFAULT_LIMITS)
    assert c.index.tolist() == [0, 1, 1, 2]
    types = sorted(g.geom_type for g, i in zip(c.geometries, c.index) if i == 1)
    assert types == ["MultiLineString", "MultiPoint"]
    mp = next(g for g in c.geometries if g.geom_type == "MultiPoint")
    assert len(mp.geoms) == 3
