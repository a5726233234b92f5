"""Real-world-shaped files for the label tests, written on demand (not test modules).

`write_harbour_capital` writes an OSM-XML extract shaped like central Helsinki: a capital on a ragged southern
coast, with about 150 cafés, shops and bars, a few museums and other notable points, streets of every class
(long ones split into several ways that share a name), a park, a bay, suburbs and the city node itself.
`write_gpx_run` writes a run along its shore. `write_world` writes Natural-Earth-like admin-0 countries of very
different sizes (a Russia, a Canada, a USA with an Alaska, down to a Luxembourg).
Run `python -m tests.render.label_places DIR` to write them for looking at renders.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import shapely

from tests.render.sample_places import _Osm

# About 5.0 × 3.9 km; the coast runs west → east across the south (land on its left, as OSM draws coastlines).
CAPITAL_BOUNDS = (24.905, 60.150, 24.995, 60.185)
CAPITAL = "Helsinki"
SILLY = [
    "Why join the navy when you can be a pirate",
    "Kahvila Onni",
    "The Brass Monkey",
    "Sip & Scroll",
    "Bar Lokki",
    "Pulla Paradise",
    "Vintage Vibes Emporium",
    "Sushi Sauna",
]
NOTABLE = [  # (tags, name, x, y) with x, y as fractions of the extract
    ({"tourism": "museum"}, "Ateneum Art Museum", 0.52, 0.55),
    ({"tourism": "museum"}, "National Museum", 0.36, 0.70),
    ({"tourism": "museum"}, "Design Museum", 0.47, 0.33),
    ({"amenity": "place_of_worship", "building": "cathedral"}, "Cathedral", 0.60, 0.50),
    ({"railway": "station", "public_transport": "station"}, "Central Station", 0.50, 0.62),
    ({"historic": "monument"}, "Three Smiths Statue", 0.44, 0.52),
    ({"tourism": "viewpoint"}, "Observatory Hill", 0.40, 0.25),
]
SUBURBS = [("Kallio", "suburb", 0.66, 0.82), ("Töölö", "suburb", 0.25, 0.78), ("Punavuori", "quarter", 0.36, 0.30)]
SUBURBS += [("Kruununhaka", "quarter", 0.72, 0.58), ("Kamppi", "neighbourhood", 0.33, 0.50)]


def _coast(lon: float, bounds=CAPITAL_BOUNDS) -> float:
    """Latitude of the shore at `lon`: a ragged coast with two bays and a headland."""
    w, s, e, n = bounds
    t = (lon - w) / (e - w)
    return s + (n - s) * (0.16 + 0.06 * math.sin(t * 9.0) + 0.03 * math.sin(t * 23.0 + 1.0))


def write_harbour_capital(path: Path, seed: int = 3, n_minor: int = 150, bounds=CAPITAL_BOUNDS) -> Path:
    """The capital; smaller `bounds` make the same town at village size (few cafés: `n_minor`)."""
    rng = np.random.default_rng(seed)
    w, s, e, n = bounds

    def _xy(fx: float, fy: float) -> tuple[float, float]:
        return w + fx * (e - w), s + fy * (n - s)

    def coast_lat(lon: float) -> float:
        return _coast(lon, bounds)

    d = (n - s) / 0.035  # offsets below are for the capital's size
    osm = _Osm()
    osm.way([(lon, coast_lat(lon)) for lon in np.linspace(w - 0.003 * d, e + 0.003 * d, 90)], {"natural": "coastline"})
    # Streets: a grid of residential and tertiary streets, each long one in several ways with one name; the
    # ways reach a little past the extract's edge (as Overpass returns them).
    names = ["Runeberg", "Fredrik", "Annan", "Albert", "Iso Robert", "Bulevardi", "Lönnrot", "Kalevan", "Uudenmaan"]
    names += ["Yrjön", "Eerikin", "Kasarmi", "Korkeavuoren", "Liisan", "Mariannan", "Snellman", "Meri", "Laivurin"]
    k = 0
    for i, fy in enumerate(np.arange(0.30, 1.0, 0.07)):
        cls = "secondary" if i % 3 == 1 else ("tertiary" if i % 3 == 2 else "residential")
        xs = np.linspace(-0.03, 1.03, 6)
        for a, b in itertools.pairwise(xs):
            pa, pb = _xy(a, fy + 0.01 * a), _xy(b, fy + 0.01 * b)
            if pa[1] > coast_lat(pa[0]) + 0.001 * d and pb[1] > coast_lat(pb[0]) + 0.001 * d:
                osm.way([pa, pb], {"highway": cls, "name": f"{names[k % len(names)]}katu"})
        k += 1
    for j, fx in enumerate(np.arange(0.05, 1.0, 0.075)):
        cls = "tertiary" if j % 4 == 1 else "residential"
        lon = _xy(fx, 0)[0]
        south = (coast_lat(lon) + 0.0012 * d - s) / (n - s)
        ys = np.linspace(south, 1.03, 4)
        for a, b in itertools.pairwise(ys):
            osm.way([_xy(fx, a), _xy(fx + 0.01, b)], {"highway": cls, "name": f"{names[k % len(names)]}tie"})
        k += 1
    main = [_xy(0.48 - 0.25 * t, 0.45 + 0.6 * t) for t in np.linspace(0, 1, 7)]
    for a, b in itertools.pairwise(main):
        osm.way([a, b], {"highway": "primary", "name": "Mannerheimintie"})
    east = [_xy(0.58 + 0.45 * t, 0.52 + 0.5 * t) for t in np.linspace(0, 1, 6)]
    for a, b in itertools.pairwise(east):
        osm.way([a, b], {"highway": "primary", "name": "Hämeentie"})
    osm.way([_xy(-0.03, 0.93), _xy(0.5, 0.88), _xy(1.03, 0.95)], {"highway": "motorway", "name": "Itäväylä"})
    osm.way([_xy(0.50, 0.62), _xy(0.52, 1.03)], {"railway": "rail", "name": "Main Line"})
    for fx in (0.2, 0.45, 0.7):
        osm.way([_xy(fx, 0.36), _xy(fx + 0.05, 0.42)], {"highway": "footway"})
    osm.way([_xy(0.42, 0.40), _xy(0.56, 0.40), _xy(0.56, 0.47), _xy(0.42, 0.47)], {"leisure": "park",
            "name": "Esplanadi Park"}, closed=True)  # fmt: skip
    bay = [_xy(0.15 + 0.07 * math.cos(a), 0.62 + 0.07 * math.sin(a)) for a in np.linspace(0, 6.1, 28)]
    osm.way(bay, {"natural": "water", "name": "Töölönlahti"}, closed=True)
    # Points: the city, its districts, the notable places, and a crowd of cafés, shops and bars.
    osm.node(*_xy(0.50, 0.58), {"place": "city", "name": CAPITAL, "population": "664028", "capital": "yes"})
    for name, place, fx, fy in SUBURBS:
        osm.node(*_xy(fx, fy), {"place": place, "name": name})
    for tags, name, fx, fy in NOTABLE:
        osm.node(*_xy(fx, fy), {**tags, "name": name})
    kinds = [{"amenity": "cafe"}, {"amenity": "bar"}, {"shop": "clothes"}, {"amenity": "restaurant"}]
    kinds += [{"amenity": "fast_food"}, {"shop": "bakery"}, {"amenity": "pub"}]
    placed = 0
    while placed < n_minor:
        x, y = rng.uniform(0.05, 0.95), rng.uniform(0.2, 0.98)
        lon, lat = _xy(x, y)
        if lat < coast_lat(lon) + 0.0008 * d:
            continue
        name = SILLY[placed % len(SILLY)] if placed < 2 * len(SILLY) else f"Café {placed}"
        osm.node(lon, lat, {**kinds[placed % len(kinds)], "name": name})
        placed += 1
    header = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="mapbrush-tests">'
    box = '  <bounds minlon="{}" minlat="{}" maxlon="{}" maxlat="{}"/>'.format(*bounds)
    path.write_text("\n".join([header, box, *osm.nodes, *osm.ways, "</osm>"]) + "\n", encoding="utf-8")
    return path


def write_gpx_run(path: Path) -> Path:
    """A morning run along the shore of the capital, west to east."""
    t = np.linspace(0.05, 0.95, 200)
    w, _s, e, _n = CAPITAL_BOUNDS
    lon = w + t * (e - w)
    lat = np.array([_coast(x) for x in lon]) + 0.0012 + 0.0006 * np.sin(t * 31.0)
    pts = "\n".join(f'      <trkpt lat="{la:.6f}" lon="{lo:.6f}"></trkpt>' for lo, la in zip(lon, lat))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="mapbrush-tests" '
        'xmlns="http://www.topografix.com/GPX/1/1">\n  <trk>\n    <name>Shore run</name>\n    <trkseg>\n'
        f"{pts}\n    </trkseg>\n  </trk>\n</gpx>\n",
        encoding="utf-8",
    )
    return path


def _blob(lon0: float, lat0: float, lon1: float, lat1: float, seed: int) -> shapely.Polygon:
    """A country-like polygon filling most of a lon/lat box, with a wobbly outline."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    r = 1 + 0.07 * np.sin(3 * t + rng.uniform(0, 6)) + 0.04 * np.cos(5 * t + rng.uniform(0, 6))
    cx, cy, hx, hy = (lon0 + lon1) / 2, (lat0 + lat1) / 2, (lon1 - lon0) / 2, (lat1 - lat0) / 2
    # a superellipse: boxy like most large countries
    c, s = np.cos(t), np.sin(t)
    x = cx + hx * r * np.sign(c) * np.abs(c) ** 0.5
    y = cy + hy * r * np.sign(s) * np.abs(s) ** 0.5
    return shapely.Polygon(np.column_stack([x, y]).clip([-180, -89], [180, 89])).buffer(0)


# (NAME, long name, lon/lat box(es), POP_EST, LABELRANK). Big, medium and tiny, as on a real world map.
WORLD = [
    ("Russia", "Russian Federation", [(28, 50, 178, 76)], 144_000_000, 2),
    ("Canada", "Canada", [(-138, 50, -58, 72)], 37_000_000, 2),
    ("United States of America", "United States", [(-124, 27, -70, 48), (-165, 56, -141, 70)], 328_000_000, 2),
    ("Brazil", "Brazil", [(-72, -32, -36, 2)], 211_000_000, 2),
    ("Australia", "Australia", [(114, -38, 152, -13)], 25_000_000, 2),
    ("China", "China", [(78, 22, 128, 47)], 1_398_000_000, 2),
    ("India", "India", [(70, 9, 88, 31)], 1_366_000_000, 2),
    ("Argentina", "Argentina", [(-70, -54, -58, -34)], 45_000_000, 2),
    ("Kazakhstan", "Kazakhstan", [(48, 41, 78, 49)], 18_000_000, 3),
    ("Algeria", "Algeria", [(-6, 20, 10, 36)], 43_000_000, 3),
    ("Dem. Rep. Congo", "Democratic Republic of the Congo", [(14, -12, 30, 4)], 86_000_000, 2),
    ("Saudi Arabia", "Saudi Arabia", [(37, 17, 55, 31)], 34_000_000, 2),
    ("Mexico", "Mexico", [(-116, 15, -88, 26)], 127_000_000, 2),
    ("Greenland", "Greenland", [(-56, 60, -22, 82)], 56_000, 1),
    ("Mongolia", "Mongolia", [(88, 47.5, 118, 49.8)], 3_200_000, 3),
    ("France", "France", [(-4, 43, 7, 50)], 67_000_000, 2),
    ("Belgium", "Belgium", [(2.6, 50.5, 6.0, 51.4)], 11_000_000, 5),
    ("Luxembourg", "Luxembourg", [(6.0, 49.5, 6.4, 50.1)], 620_000, 6),
    ("Qatar", "Qatar", [(50.8, 24.6, 51.6, 26.1)], 2_800_000, 5),
    ("Jamaica", "Jamaica", [(-78.3, 17.8, -76.3, 18.5)], 2_900_000, 4),
]


def write_world(path: Path) -> Path:
    """Admin-0 countries with Natural Earth's columns (featurecla, ADMIN, NAME, NAME_LONG, POP_EST, LABELRANK)."""
    features = []
    for i, (name, long_name, boxes, pop, rank) in enumerate(WORLD):
        parts = [_blob(*b, seed=i * 7 + j) for j, b in enumerate(boxes)]
        geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        props = {"featurecla": "Admin-0 country", "ADMIN": name, "NAME": name, "NAME_LONG": long_name,
                 "ISO_A3": name[:3].upper(), "POP_EST": pop, "LABELRANK": rank}  # fmt: skip
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    print(
        write_harbour_capital(out / "capital.osm"), write_gpx_run(out / "run.gpx"), write_world(out / "world.geojson")
    )
