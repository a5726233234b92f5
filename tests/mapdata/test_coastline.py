from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from app.mapdata.coastline import sea_polygons
from app.mapdata.io import read_file
from app.mapdata.model import Kind
from tests.mapdata.make_samples import BOUNDS, ISLAND_POINT, LAND_POINT, SEA_POINT

BOX = (0.0, 0.0, 10.0, 10.0)


def lines(*coords) -> np.ndarray:
    out = np.empty(len(coords), object)
    out[:] = [LineString(c) for c in coords]
    return out


def test_sea_is_right_of_the_coast():
    # heading east: land to the north (left), sea to the south (right)
    sea = sea_polygons(lines([(-1, 5), (4, 5.5), (11, 5)]), BOX)
    assert sea.contains(Point(5, 1)) and not sea.contains(Point(5, 9))
    below = (5.1 + 5.5) / 2 * 4 + (5.5 + 5.5 - 3 / 7) / 2 * 6  # area under the coast, x from 0 to 10
    assert sea.area == pytest.approx(below)
    # the same coast drawn the other way round puts the sea in the north
    flipped = sea_polygons(lines([(11, 5), (4, 5.5), (-1, 5)]), BOX)
    assert flipped.contains(Point(5, 9)) and not flipped.contains(Point(5, 1))


def test_coast_in_pieces_and_an_island():
    coast = lines([(-1, 5), (3, 6)], [(3, 6), (7, 4)], [(7, 4), (11, 5)])
    island = lines([(4, 1), (6, 1), (6, 3), (4, 3), (4, 1)])  # counter-clockwise: land inside
    sea = sea_polygons(np.concatenate([coast, island]), BOX)
    assert sea.contains(Point(1, 1)) and sea.contains(Point(9, 2))
    assert not sea.contains(Point(5, 2))  # on the island
    assert not sea.contains(Point(5, 9))  # on the mainland


def test_lake_like_ring_makes_sea_outside_an_island_only_map():
    # only an island in the box: everything around it is sea
    sea = sea_polygons(lines([(4, 4), (6, 4), (6, 6), (4, 6), (4, 4)]), BOX)
    assert sea.contains(Point(1, 1)) and not sea.contains(Point(5, 5))
    assert sea.area == pytest.approx(96)


def test_bay_cutting_into_the_land():
    # land is the whole box except a bay entering from the south edge
    sea = sea_polygons(lines([(4, -1), (4, 6), (6, 6), (6, -1)]), BOX)
    assert sea is not None
    assert sea.contains(Point(5, 3)) and not sea.contains(Point(1, 1)) and not sea.contains(Point(5, 8))


def test_coast_outside_the_box_decides_nothing():
    assert sea_polygons(lines([(20, 20), (30, 30)]), BOX) is None
    assert sea_polygons(np.empty(0, object), BOX) is None


def test_synthetic_harbour_file(data_dir):
    data = read_file(data_dir / "harbour.osm")
    sea = [g for g, k in zip(data.geometries, data.kinds) if k is Kind.SEA]
    assert len(sea) == 1
    sea = sea[0]
    assert sea.contains(Point(SEA_POINT))
    assert not sea.contains(Point(LAND_POINT))
    assert not sea.contains(Point(ISLAND_POINT))
    assert shapely.box(*BOUNDS).buffer(1e-9).contains(sea)  # clipped to the extract bounds
    assert data.extent == BOUNDS
    # the raw coastline ways are represented by the sea polygon, not kept as lines
    assert not any(p.get("natural") == "coastline" for p in data.props)
