"""Map files without OSM-like tags, shaped like the real thing: a country outline with only a name, a
zipped census block-group shapefile, a drawn route and a handful of plain points."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import shapely
from pyogrio import raw as ogr_raw

# The outline of an island country, lon/lat: about Iceland's size and place, coast roughened by hand.
_ISLAND = [
    (-24.3, 65.6), (-23.6, 66.2), (-22.4, 66.4), (-21.2, 65.9), (-20.3, 66.1), (-18.8, 66.2),
    (-17.5, 66.1), (-16.3, 66.5), (-14.9, 66.3), (-14.6, 65.6), (-13.6, 65.2), (-14.4, 64.6),
    (-15.2, 64.3), (-16.9, 63.9), (-18.2, 63.5), (-19.9, 63.4), (-21.2, 63.8), (-22.7, 63.8),
    (-22.0, 64.3), (-23.9, 64.8), (-22.3, 65.1), (-24.0, 65.4),
]  # fmt: skip


def country_outline() -> shapely.Polygon:
    return shapely.Polygon(_ISLAND)


def write_country_geojson(path: Path, name: str = "Iceland") -> Path:
    """One feature, one polygon, and no property but its name (as in many 'world countries' files)."""
    feature = {"type": "Feature", "properties": {"name": name}, "geometry": shapely.geometry.mapping(country_outline())}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def block_groups(cols: int = 4, rows: int = 3, seed: int = 3) -> list[shapely.Polygon]:
    """Adjacent quadrilaterals on a jittered grid near Oakland, CA: neighbours share their edges exactly."""
    rng = np.random.default_rng(seed)
    lon0, lat0, dx, dy = -122.29, 37.79, 0.012, 0.0095
    xs = lon0 + dx * np.arange(cols + 1)[None, :] + rng.uniform(-0.25, 0.25, (rows + 1, cols + 1)) * dx
    ys = lat0 + dy * np.arange(rows + 1)[:, None] + rng.uniform(-0.25, 0.25, (rows + 1, cols + 1)) * dy
    xs[:, 0], xs[:, -1] = lon0, lon0 + dx * cols  # straight outer edges, as county lines often are
    cells = []
    for r in range(rows):
        for c in range(cols):
            corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]
            cells.append(shapely.Polygon([(xs[i, j], ys[i, j]) for i, j in corners]))
    return cells


def write_census_zip(path: Path, cols: int = 4, rows: int = 3) -> Path:
    """A TIGER/Line-like block-group shapefile (NAD83, attribute columns, no map tags), zipped."""
    cells = block_groups(cols, rows)
    n = len(cells)
    tract = [f"40{22 + i // 4:02d}00" for i in range(n)]
    blkgrp = [str(1 + i % 4) for i in range(n)]
    aland = np.round(shapely.area(np.array(cells, object)) * 111_000**2 * 0.79).astype(np.int64)
    fields = {
        "STATEFP": np.array(["06"] * n, object),
        "COUNTYFP": np.array(["001"] * n, object),
        "TRACTCE": np.array(tract, object),
        "BLKGRPCE": np.array(blkgrp, object),
        "GEOID": np.array([f"06001{t}{b}" for t, b in zip(tract, blkgrp)], object),
        "NAMELSAD": np.array([f"Block Group {b}" for b in blkgrp], object),
        "MTFCC": np.array(["G5030"] * n, object),
        "FUNCSTAT": np.array(["S"] * n, object),
        "ALAND": aland,
        "AWATER": np.zeros(n, np.int64),
        "INTPTLAT": np.array([f"+{c.centroid.y:.7f}" for c in cells], object),
        "INTPTLON": np.array([f"{c.centroid.x:.7f}" for c in cells], object),
    }
    folder = path.parent / (path.stem + "_parts")
    folder.mkdir(exist_ok=True)
    shp = folder / "tl_2023_06_bg.shp"
    ogr_raw.write(
        str(shp),
        geometry=shapely.to_wkb(np.array(cells, object)),
        field_data=list(fields.values()),
        fields=list(fields),
        driver="ESRI Shapefile",
        geometry_type="Polygon",
        crs="EPSG:4269",
        encoding="UTF-8",
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return path


def write_route_geojson(path: Path) -> Path:
    """A route drawn in a web map: one LineString, no properties at all."""
    t = np.linspace(0, 1, 40)
    coords = np.column_stack([8.50 + 0.08 * t + 0.012 * np.sin(t * 9), 47.35 + 0.05 * t + 0.01 * np.cos(t * 7)])
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": coords.tolist()}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def write_points_geojson(path: Path, n: int = 9) -> Path:
    """Sample sites with ids and measurements but no names or tags."""
    rng = np.random.default_rng(5)
    lon = 13.35 + rng.uniform(0, 0.1, n)
    lat = 52.48 + rng.uniform(0, 0.06, n)
    features = [
        {
            "type": "Feature",
            "properties": {"id": i + 1, "value": round(float(v), 2)},
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for i, (x, y, v) in enumerate(zip(lon, lat, rng.uniform(0, 40, n)))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def countries(n: int = 7, seed: int = 11) -> list[tuple[str, shapely.Geometry]]:
    """Neighbouring countries filling a continent-sized blob (Voronoi cells), like Natural Earth's admin-0."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    r = 1 + 0.12 * np.sin(3 * t + 1) + 0.06 * np.cos(7 * t)
    land = shapely.Polygon(np.column_stack([15 + 14 * r * np.cos(t), 48 + 9 * r * np.sin(t)]))
    seeds = shapely.multipoints(np.column_stack([rng.uniform(4, 26, n), rng.uniform(41, 55, n)]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=land.buffer(5)))
    names = ["Avaria", "Belmont", "Corvenia", "Dalsland", "Estmark", "Farrow", "Galdia", "Hestria", "Ivel"]
    parts = [shapely.intersection(c, land) for c in cells]
    return [(names[i % len(names)], g) for i, g in enumerate(p for p in parts if not p.is_empty)]


def write_countries_geojson(path: Path) -> Path:
    """Admin-0 countries with Natural Earth's columns (featurecla, ADMIN, NAME, ISO_A3, POP_EST)."""
    features = [
        {
            "type": "Feature",
            "properties": {"featurecla": "Admin-0 country", "ADMIN": name, "NAME": name,
                           "ISO_A3": name[:3].upper(), "POP_EST": 1_000_000 * (i + 1)},
            "geometry": shapely.geometry.mapping(g),
        }
        for i, (name, g) in enumerate(countries())
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
