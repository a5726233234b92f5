"""A synthetic harbour city in lon/lat: sea, river, parks, a wood, streets of every class, buildings,
rail, a GPS track, POIs and places. `make_city(n_buildings)` scales it up for timing tests."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from app.mapdata.model import MapData

LON0, LAT0 = 10.0, 54.0
DEG = 0.001  # ~65 m east-west, ~111 m north-south at this latitude


def _ll(x: float, y: float) -> tuple[float, float]:
    return LON0 + x * DEG * 1.7, LAT0 + y * DEG


def make_city(n_buildings: int = 400, seed: int = 1) -> MapData:
    rng = np.random.default_rng(seed)
    geoms, kinds, names, props = [], [], [], []

    def add(g, k, n=None, **p):
        geoms.append(g)
        kinds.append(k)
        names.append(n)
        props.append(p)

    sea = shapely.Polygon([_ll(-40, -40), _ll(40, -40), _ll(40, -22), _ll(10, -18), _ll(-40, -24)])
    add(sea, "sea", "Bay of Testing")
    add(shapely.LineString([_ll(-5, 40), _ll(-2, 10), _ll(3, -5), _ll(2, -20)]), "waterway", "River Sample")
    lake = shapely.Point(_ll(22, 18)).buffer(5 * DEG).difference(shapely.Point(_ll(23, 18)).buffer(1.5 * DEG))
    add(lake, "water", "Mill Pond")
    add(shapely.box(*_ll(-30, 10), *_ll(-14, 25)), "park", "Kings Park")
    add(shapely.box(*_ll(12, 28), *_ll(38, 40)), "forest", "Old Wood")
    for i, y in enumerate(range(-16, 40, 4)):
        cls = "primary" if y == 0 else ("secondary" if y % 16 == 0 else "residential")
        add(
            shapely.LineString([_ll(-38, y), _ll(38, y + 1)]),
            cls,
            f"{['Harbour', 'Mill', 'Church', 'Market'][i % 4]} Street {i}",
        )
    for i, x in enumerate(range(-36, 40, 5)):
        cls = "tertiary" if x % 15 == 0 else "residential"
        add(shapely.LineString([_ll(x, -18), _ll(x + 2, 40)]), cls, f"Avenue {chr(65 + i)}")
    add(shapely.LineString([_ll(-38, -10), _ll(0, 36), _ll(38, 20)]), "motorway", "A 1")
    add(shapely.LineString([_ll(-20, -5), _ll(-10, 5), _ll(5, 8)]), "service")
    add(shapely.LineString([_ll(-28, 12), _ll(-16, 22)]), "path", "Park Walk")
    add(shapely.LineString([_ll(-38, 30), _ll(38, 26)]), "rail", "Coast Line")
    track = [_ll(-25 + 5 * np.sin(t / 3), -10 + t) for t in np.linspace(0, 45, 60)]
    add(shapely.LineString(track), "track", "Morning run")
    for i in range(12):
        add(shapely.Point(_ll(rng.uniform(-35, 35), rng.uniform(-15, 38))), "poi", f"Cafe {i}")
    add(shapely.Point(_ll(0, 12)), "place", "Testhaven", place="city")
    add(shapely.Point(_ll(-25, 30)), "place", "Northby", place="suburb")
    add(shapely.Point(_ll(25, -8)), "place", "Eastwick", place="village")
    # Buildings: small rotated rectangles scattered over the land.
    cx = rng.uniform(-38, 38, n_buildings)
    cy = rng.uniform(-16, 40, n_buildings)
    w = rng.uniform(0.15, 0.6, n_buildings)
    h = rng.uniform(0.15, 0.5, n_buildings)
    ang = rng.uniform(0, np.pi, n_buildings)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], float) / 2
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    px = cx[:, None] + corners[None, :, 0] * w[:, None] * c - corners[None, :, 1] * h[:, None] * s
    py = cy[:, None] + corners[None, :, 0] * w[:, None] * s + corners[None, :, 1] * h[:, None] * c
    rings = np.stack([LON0 + px * DEG * 1.7, LAT0 + py * DEG], axis=-1)
    buildings = shapely.polygons(rings)
    for b in buildings:
        add(b, "building")
    return MapData.from_lists(geoms, kinds, names, props)


@pytest.fixture(scope="session")
def city() -> MapData:
    return make_city()
