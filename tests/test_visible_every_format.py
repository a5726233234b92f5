"""The data is in the picture, for every reader format in every style.

Each format gets a small file shaped like what people really drop on the window (a lake, a park, a walk or
a drive, a few named points), written here. For each style, the file is rendered twice with the same framing
and seed, once with its features and once without, and the features' own pixels must differ (tests/visibility.py).
A reader or a style that loses the data, or paints it as paper, fails here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from pyogrio import raw as ogr_raw

from app.styles.catalog import load_styles
from tests.visibility import assert_visible

# A lakeside village near 46.5° N 13.8° E, about 2 km across.
LAKE = shapely.Polygon([(13.790, 46.500), (13.800, 46.498), (13.806, 46.504), (13.798, 46.509), (13.789, 46.506)])
PARK = shapely.box(13.775, 46.505, 13.782, 46.511)
WALK = shapely.LineString([(13.772, 46.497), (13.780, 46.500), (13.786, 46.497), (13.795, 46.494), (13.808, 46.497)])
POINTS = [("Old Church", (13.776, 46.501)), ("Boat House", (13.803, 46.497)), ("Viewpoint", (13.786, 46.512))]
STYLES = sorted(load_styles())


def _write_ogr(path: Path, driver: str) -> Path:
    geoms = [LAKE, PARK, WALK, *(shapely.Point(xy) for _, xy in POINTS)]
    names = ["Jasna Lake", "Village Green", "Lakeside Walk", *(n for n, _ in POINTS)]
    kinds = ["water", "park", "path", "viewpoint", "viewpoint", "viewpoint"]
    fields = [np.array(names, object), np.array(kinds, object)]
    wkb = shapely.to_wkb(np.array(geoms, object))
    # One layer per geometry type where the driver needs it; GeoPackage and FlatGeobuf take a mixed layer.
    ogr_raw.write(path, wkb, fields, ["name", "type"], driver=driver, crs="EPSG:4326", geometry_type="Unknown")
    return path


def _write_shapefile_zip(path: Path) -> Path:
    """A zipped shapefile of polygons with attribute columns only (no map tags), like a parcel or zone export."""
    parts = path.parent / "zones"
    parts.mkdir()
    shp = parts / "zones.shp"
    polys = [LAKE, PARK, shapely.box(13.783, 46.492, 13.789, 46.497)]
    fields = [np.array(["Z-1", "Z-2", "Z-3"], object), np.array([12.5, 3.1, 4.0])]
    ogr_raw.write(shp, shapely.to_wkb(np.array(polys, object)), fields, ["ZONE_ID", "AREA_HA"],
                  driver="ESRI Shapefile", crs="EPSG:4326", geometry_type="Polygon")  # fmt: skip
    with zipfile.ZipFile(path, "w") as zf:
        for f in parts.iterdir():
            zf.write(f, f"zones/{f.name}")
    return path


def _gpx() -> str:
    pts = "".join(f'<trkpt lat="{y}" lon="{x}"><ele>{500 + 10 * i}</ele></trkpt>' for i, (x, y) in
                  enumerate(WALK.segmentize(0.001).coords))  # fmt: skip
    wpts = "".join(f'<wpt lat="{y}" lon="{x}"><name>{n}</name></wpt>' for n, (x, y) in POINTS)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Garmin Connect" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><metadata><name>Lakeside walk</name></metadata>{wpts}'
        f"<trk><name>Lakeside walk</name><trkseg>{pts}</trkseg></trk></gpx>"
    )


def _kml() -> str:
    def coords(g) -> str:
        return " ".join(f"{x},{y},0" for x, y in g.coords)

    marks = "".join(
        f"<Placemark><name>{n}</name><Point><coordinates>{x},{y},0</coordinates></Point></Placemark>"
        for n, (x, y) in POINTS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<name>Lake day</name><Folder><name>Places</name>"
        f"<Placemark><name>Jasna Lake</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coords(LAKE.exterior)}"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        f"{marks}</Folder><Folder><name>Route</name><Placemark><name>Lakeside walk</name><LineString>"
        f"<tessellate>1</tessellate><coordinates>{coords(WALK)}</coordinates></LineString></Placemark></Folder>"
        "</Document></kml>"
    )


def _osm() -> str:
    nodes, ways, nid = [], [], 1

    def way(wid: int, geom, tags: dict) -> None:
        nonlocal nid
        refs = []
        for x, y in geom.coords:
            nodes.append(f'<node id="{nid}" version="1" lat="{y}" lon="{x}"/>')
            refs.append(nid)
            nid += 1
        if geom.is_closed:
            refs[-1] = refs[0]
            nodes.pop()
            nid -= 1
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{wid}" version="1">{nd}{tg}</way>')

    way(1, LAKE.exterior, {"natural": "water", "name": "Jasna"})
    way(2, PARK.exterior, {"leisure": "park", "name": "Village Green"})
    way(3, WALK, {"highway": "residential", "name": "Lake Road"})
    for name, (x, y) in POINTS:
        nodes.append(
            f'<node id="{nid}" version="1" lat="{y}" lon="{x}"><tag k="tourism" v="viewpoint"/>'
            f'<tag k="name" v="{name}"/></node>'
        )
        nid += 1
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="osmium/1.16">'
        '<bounds minlat="46.490" minlon="13.768" maxlat="46.515" maxlon="13.812"/>'
        f"{''.join(nodes)}{''.join(ways)}</osm>"
    )


def _osm_to_pbf(src: Path, dest: Path) -> Path:
    with osmium.SimpleWriter(str(dest)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                writer.add_way(obj)
    return dest


def _make(fmt: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        return _write_ogr(folder / "lake.geojson", "GeoJSON")
    if fmt == "gpkg":
        return _write_ogr(folder / "lake.gpkg", "GPKG")
    if fmt == "fgb":
        return _write_ogr(folder / "lake.fgb", "FlatGeobuf")
    if fmt == "shapefile":
        return _write_shapefile_zip(folder / "zones.zip")
    if fmt == "gpx":
        (folder / "walk.gpx").write_text(_gpx(), encoding="utf-8")
        return folder / "walk.gpx"
    if fmt == "kml":
        (folder / "day.kml").write_text(_kml(), encoding="utf-8")
        return folder / "day.kml"
    if fmt == "kmz":
        with zipfile.ZipFile(folder / "day.kmz", "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", _kml())
        return folder / "day.kmz"
    osm = folder / "village.osm"
    osm.write_text(_osm(), encoding="utf-8")
    return osm if fmt == "osm-xml" else _osm_to_pbf(osm, folder / "village.osm.pbf")


FORMATS = ("geojson", "gpx", "kml", "kmz", "shapefile", "osm-xml", "osm-pbf", "gpkg", "fgb")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("formats")
    return {fmt: _make(fmt, root / fmt) for fmt in FORMATS}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_data_is_visible(files, fmt, style):
    from app.mapdata.io import read_file

    path = files[fmt]
    data = read_file(path)
    assert data.sources[0].format == fmt
    assert len(data) >= 3, f"{path.name}: the reader kept only {len(data)} features"
    assert_visible([path], style, size=(320, 240), threshold=8.0, changed=0.4)
