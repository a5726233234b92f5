"""Regenerate the binary samples in tests/data/mapdata (run by hand: python -m tests.mapdata.make_samples).

harbour.osm is written here too, so its geometry is documented in one place. Not a test module.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import osmium
import shapely
from pyogrio import raw as ogr_raw
from pyproj import Transformer

DATA = Path(__file__).resolve().parent.parent / "data" / "mapdata"

# Harbour: bbox 10.00..10.10 x 54.00..54.10. The coast runs west→east near lat 54.05 (land north = left,
# sea south = right) and an island (a closed counter-clockwise coastline ring) sits in the sea.
BOUNDS = (10.0, 54.0, 10.1, 54.1)
SEA_POINT, LAND_POINT, ISLAND_POINT = (10.02, 54.02), (10.02, 54.08), (10.05, 54.02)

NODES = {
    # coast (two ways sharing node 3), starts and ends outside the bounds like a real extract
    1: (9.995, 54.050), 2: (10.030, 54.052), 3: (10.050, 54.048), 4: (10.080, 54.053), 5: (10.105, 54.050),
    # island ring, counter-clockwise
    10: (10.040, 54.010), 11: (10.060, 54.010), 12: (10.060, 54.030), 13: (10.040, 54.030),
    # roads on land
    20: (10.005, 54.070), 21: (10.050, 54.072), 22: (10.095, 54.070), 23: (10.050, 54.060), 24: (10.050, 54.095),
    # building
    30: (10.020, 54.080), 31: (10.022, 54.080), 32: (10.022, 54.082), 33: (10.020, 54.082),
    # park
    40: (10.070, 54.080), 41: (10.090, 54.080), 42: (10.090, 54.090), 43: (10.070, 54.090),
    # lake (multipolygon: outer of two ways, one inner)
    50: (10.010, 54.085), 51: (10.040, 54.085), 52: (10.040, 54.098), 53: (10.010, 54.098),
    55: (10.020, 54.090), 56: (10.030, 54.090), 57: (10.030, 54.094), 58: (10.020, 54.094),
    # roundabout (closed highway: must stay a line)
    60: (10.060, 54.062), 61: (10.062, 54.064), 62: (10.060, 54.066), 63: (10.058, 54.064),
    # tagged nodes
    70: (10.050, 54.075), 71: (10.052, 54.071),
}  # fmt: skip
WAYS = [
    (100, [1, 2, 3], {"natural": "coastline"}),
    (101, [3, 4, 5], {"natural": "coastline"}),
    (102, [10, 11, 12, 13, 10], {"natural": "coastline", "place": "islet", "name": "Möweninsel"}),
    (110, [20, 21, 22], {"highway": "primary", "name": "Hafenstraße"}),
    (111, [23, 21, 24], {"highway": "residential", "name": "Kirchweg"}),
    (112, [30, 31, 32, 33, 30], {"building": "yes"}),
    (113, [40, 41, 42, 43, 40], {"leisure": "park", "name": "Stadtpark"}),
    (114, [50, 51, 52], {}),
    (115, [52, 53, 50], {}),
    (116, [55, 56, 57, 58, 55], {}),
    (117, [60, 61, 62, 63, 60], {"highway": "tertiary", "junction": "roundabout"}),
]
RELATIONS = [
    (
        200,
        [(114, "outer"), (115, "outer"), (116, "inner")],
        {"type": "multipolygon", "natural": "water", "name": "See"},
    ),
]
TAGGED_NODES = {70: {"place": "town", "name": "Hafenstadt"}, 71: {"amenity": "cafe", "name": "Kaffee"}}


def _tags(tags: dict) -> str:
    return "".join(f'\n    <tag k="{k}" v="{v}"/>' for k, v in tags.items())


def write_osm_xml(path: Path) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="mapbrush-tests">']
    lines.append('  <bounds minlon="{}" minlat="{}" maxlon="{}" maxlat="{}"/>'.format(*BOUNDS))
    for nid, (lon, lat) in NODES.items():
        tags = TAGGED_NODES.get(nid)
        attrs = f'id="{nid}" version="1" lat="{lat}" lon="{lon}"'
        lines.append(f"  <node {attrs}>{_tags(tags)}\n  </node>" if tags else f"  <node {attrs}/>")
    for wid, refs, tags in WAYS:
        nds = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
        lines.append(f'  <way id="{wid}" version="1">{nds}{_tags(tags)}\n  </way>')
    for rid, members, tags in RELATIONS:
        ms = "".join(f'\n    <member type="way" ref="{m}" role="{role}"/>' for m, role in members)
        lines.append(f'  <relation id="{rid}" version="1">{ms}{_tags(tags)}\n  </relation>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_pbf(src: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    header = osmium.io.Header()
    header.add_box(osmium.osm.Box(osmium.osm.Location(BOUNDS[0], BOUNDS[1]), osmium.osm.Location(BOUNDS[2], BOUNDS[3])))
    writer = osmium.SimpleWriter(str(dest), header=header)
    try:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                writer.add_way(obj)
            elif obj.is_relation():
                writer.add_relation(obj)
    finally:
        writer.close()


def write_kmz(src: Path, dest: Path) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(src, "doc.kml")


def write_utm_shapefile(dest: Path) -> None:
    """Streets in UTM zone 32N (EPSG:32632) around Zürich, with a .prj."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    lonlat = [
        shapely.LineString([(8.53, 47.37), (8.55, 47.38)]),
        shapely.LineString([(8.54, 47.36), (8.54, 47.39)]),
        shapely.LineString([(8.52, 47.36), (8.53, 47.36), (8.53, 47.37)]),
    ]
    geoms = shapely.transform(np.array(lonlat, object), lambda x, y: to_utm.transform(x, y), interleaved=False)
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        dest.with_suffix(ext).unlink(missing_ok=True)
    ogr_raw.write(
        str(dest),
        geometry=shapely.to_wkb(geoms),
        field_data=[np.array(["primary", "residential", "footway"], object),
                    np.array(["Bahnhofstrasse", "Limmatquai", "Platzspitz"], object)],
        fields=["highway", "name"],
        driver="ESRI Shapefile",
        geometry_type="LineString",
        crs="EPSG:32632",
        encoding="UTF-8",
    )  # fmt: skip


def main() -> None:
    write_osm_xml(DATA / "harbour.osm")
    write_pbf(DATA / "harbour.osm", DATA / "harbour.osm.pbf")
    write_kmz(DATA / "folders.kml", DATA / "folders.kmz")
    write_utm_shapefile(DATA / "zurich_utm.shp")


if __name__ == "__main__":
    main()
