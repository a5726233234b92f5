"""Hostile and broken input: every case must end in an InputError naming the file, quickly."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from app.errors import InputError
from app.mapdata.io import read_file
from app.mapdata.limits import Limits
from app.mapdata.safety import check_xml_head
from app.mapdata.sniff import UNSUPPORTED

SAMPLES = ["sample.geojson", "track-1.1.gpx", "folders.kml", "folders.kmz", "harbour.osm", "harbour.osm.pbf"]


def refuse(path, match: str, **kw) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        read_file(path, **kw)
    assert info.value.path == str(path)
    assert str(path) in info.value.one_line()
    return info.value


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(100), b"hello world\n", b"[1, 2, 3]", b"<html/>"])
def test_unknown_format(tmp_path, content):
    path = tmp_path / "thing.geojson"
    path.write_bytes(content)
    assert refuse(path, "unsupported file format").message == UNSUPPORTED


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.gpx"
    empty.write_bytes(b"")
    refuse(empty, "empty")
    refuse(tmp_path / "nope.geojson", "not found")
    refuse(tmp_path, "folder")


@pytest.mark.parametrize("name", SAMPLES)
def test_truncated(data_dir, tmp_path, name):
    data = (data_dir / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    refuse(path, "corrupt|truncated|unsupported")


@pytest.mark.parametrize("ext", [".shp", ".shx", ".dbf"])
def test_truncated_shapefile(data_dir, tmp_path, ext):
    shp = _shapefile_copy(data_dir, tmp_path)
    part = shp.with_suffix(ext)
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])
    refuse(shp, "corrupt")


def test_truncated_gzip_osm(data_dir, tmp_path):
    packed = gzip.compress((data_dir / "harbour.osm").read_bytes())
    path = tmp_path / "cut.osm.gz"
    path.write_bytes(packed[: len(packed) // 2])
    refuse(path, "corrupt or truncated")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("none.geojson", '{"type": "FeatureCollection", "features": []}'),
        ("none.gpx", '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"></gpx>'),
        ("none.kml", '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder/></Document></kml>'),
        ("none.osm", '<osm version="0.6"><bounds minlat="1" minlon="1" maxlat="2" maxlon="2"/></osm>'),
        ("nulls.geojson", '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null}]}'),
    ],
)  # fmt: skip
def test_no_features(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    refuse(path, "no map features found")


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
XXE = '<?xml version="1.0"?>\n<!DOCTYPE r [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE gpx SYSTEM "file:///etc/passwd">\n'
BODIES = {
    "gpx": '<gpx version="1.1"><wpt lat="1" lon="1"><name>&{e};</name></wpt></gpx>',
    "kml": "<kml><Placemark><name>&{e};</name><Point><coordinates>1,1</coordinates></Point></Placemark></kml>",
    "osm": '<osm version="0.6"><node id="1" lat="1" lon="1"><tag k="name" v="&{e};"/></node></osm>',
}


def _entity_files(tmp_path: Path, prolog: str, entity: str) -> list[Path]:
    paths = []
    for ext, body in BODIES.items():
        text = prolog + body.format(e=entity)
        p = tmp_path / f"x.{ext}"
        p.write_text(text)
        paths.append(p)
        if ext == "kml":
            kmz = tmp_path / "x.kmz"
            with zipfile.ZipFile(kmz, "w") as zf:
                zf.writestr("doc.kml", text)
            paths.append(kmz)
        if ext == "osm":
            gz = tmp_path / "x.osm.gz"
            gz.write_bytes(gzip.compress(text.encode()))
            paths.append(gz)
            utf16 = tmp_path / "x16.osm"
            utf16.write_bytes(text.encode("utf-16"))
            paths.append(utf16)
    return paths


def test_billion_laughs_refused_quickly(tmp_path):
    for path in _entity_files(tmp_path, BOMB, "lol9"):
        start = time.monotonic()
        refuse(path, "XML entities are not allowed")
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("prolog", [XXE, EXTERNAL_DTD])
def test_external_entities_never_resolved(tmp_path, prolog):
    for path in _entity_files(tmp_path, prolog, "xxe"):
        err = refuse(path, "XML entities are not allowed")
        assert "root:" not in err.one_line()


def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


KML = (
    b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>a</name>'
    b"<Point><coordinates>1,1</coordinates></Point></Placemark></kml>"
)


def test_zip_bombs(tmp_path):
    ratio_bomb = _zip(tmp_path / "ratio.kmz", {"doc.kml": KML, "pad.kml": b"\0" * (20 * 2**20)})
    start = time.monotonic()
    refuse(ratio_bomb, "zip bomb")
    assert time.monotonic() - start < 3
    big = _zip(tmp_path / "big.kmz", {"doc.kml": KML + b" " * 5000})
    refuse(big, "over the limit", limits=Limits(max_uncompressed_size=4000))
    many = _zip(tmp_path / "many.kmz", {f"m{i}.kml": KML for i in range(30)})
    refuse(many, "too many members", limits=Limits(max_zip_members=20))
    assert read_file(_zip(tmp_path / "fine.kmz", {"doc.kml": KML})).names[0] == "a"


@pytest.mark.parametrize(
    "member", ["../../evil.kml", "/tmp/evil.kml", "a/../../evil.kml", "C:/evil.kml", "..\\evil.kml"]
)
def test_zip_path_traversal(tmp_path, member):
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    path = _zip(work / "x.kmz", {"doc.kml": KML, member: KML})
    refuse(path, "unsafe file name")
    assert not list(tmp_path.rglob("evil.kml"))


def test_shapefile_zip_traversal(data_dir, tmp_path):
    members = {f"../zurich_utm{e}": (data_dir / f"zurich_utm{e}").read_bytes() for e in (".shp", ".shx", ".dbf")}
    refuse(_zip(tmp_path / "x.zip", members), "unsafe file name")


def _osm_bomb(size: int) -> bytes:
    return b'<osm version="0.6">' + b" " * size + b"</osm>"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_compression_bombs(tmp_path, compress):
    path = tmp_path / "bomb.osm.gz"
    path.write_bytes(compress(_osm_bomb(30 * 2**20)))
    start = time.monotonic()
    refuse(path, "bomb|unpacks", limits=Limits(ratio_floor=2**20))
    assert time.monotonic() - start < 5
    refuse(path, "unpacks to more than", limits=Limits(max_uncompressed_size=2**20, max_compression_ratio=1e9))


def _points(coords_list) -> list[dict]:
    return [
        {"type": "Feature", "properties": {"i": i}, "geometry": {"type": "Point", "coordinates": c}}
        for i, c in enumerate(coords_list)
    ]


def _geojson(tmp_path, coords_list, name="c.geojson") -> Path:
    text = json.dumps({"type": "FeatureCollection", "features": _points(coords_list)})
    path = tmp_path / name
    path.write_text(text)  # json.dumps writes NaN / Infinity, which GDAL accepts
    return path


def test_bad_coordinates_dropped_with_warning(tmp_path):
    bad = [[float("nan"), 1], [float("inf"), 1], [1e300, 1], [181, 1], [1, -91], [1, 1e300]]
    path = _geojson(tmp_path, [[1, 1], *bad, [2, 2]])
    data = read_file(path)
    assert [p["i"] for p in data.props] == [0, 7]
    assert data.sources[0].dropped == 6
    (w,) = [w for w in data.warnings if "dropped" in w]
    assert w.startswith("c.geojson: dropped 6 features that cannot be drawn: ")
    assert "feature 2: longitude is not a number" in w and "feature 6: latitude -91 out of range" in w
    assert w.endswith("; and 1 more")


def test_only_bad_coordinates_is_an_error(tmp_path):
    refuse(_geojson(tmp_path, [[1e300, 1e300], [500000, 5000000]]), "no features with valid lon/lat")


def test_huge_coordinates_in_projected_crs(tmp_path, data_dir):
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32632"}},
            "features": _points([[465000, 5246000], [1e300, 1e300]]),
        }
    )
    path = tmp_path / "utm.geojson"
    path.write_text(text)
    data = read_file(path)
    assert [p["i"] for p in data.props] == [0] and data.sources[0].crs == "EPSG:32632"
    x, y = data.geometries[0].x, data.geometries[0].y
    assert 8 < x < 9 and 47 < y < 48


def _shapefile_copy(data_dir, tmp_path, stem="s") -> Path:
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        (tmp_path / f"{stem}{ext}").write_bytes((data_dir / f"zurich_utm{ext}").read_bytes())
    return tmp_path / f"{stem}.shp"


def _patch(path: Path, offset: int, data: bytes) -> None:
    b = bytearray(path.read_bytes())
    b[offset : offset + len(data)] = data
    path.write_bytes(bytes(b))


@pytest.mark.parametrize(
    ("ext", "offset", "data"),
    [
        (".shx", 100, (10**8).to_bytes(4, "big")),  # record offset past the end of the .shp
        (".shp", 144, (10**9).to_bytes(4, "little")),  # first record claims a billion parts
        (".dbf", 10, (60000).to_bytes(2, "little")),  # record length wrong
    ],
)
def test_corrupt_shapefile(data_dir, tmp_path, ext, offset, data):
    shp = _shapefile_copy(data_dir, tmp_path)
    _patch(shp.with_suffix(ext), offset, data)
    refuse(shp, "corrupt")


def test_shapefile_with_mismatched_or_missing_index(data_dir, tmp_path):
    shp = _shapefile_copy(data_dir, tmp_path)
    shx = shp.with_suffix(".shx")
    _patch(shx, 104, (2).to_bytes(4, "big"))  # the .shx says record 0 is 2 words long: not what the .shp holds
    refuse(shp, "corrupt")
    shx.unlink()
    assert len(read_file(shp)) > 0  # a missing index is rebuilt (tests/mapdata/test_read_formats.py)


def test_size_and_feature_limits(data_dir):
    refuse(data_dir / "sample.geojson", "too large", limits=Limits(max_file_size=100))
    refuse(data_dir / "sample.geojson", "more than 3 features", limits=Limits(max_features=3))
    refuse(data_dir / "harbour.osm", "more than 3 features", limits=Limits(max_features=3))
    refuse(data_dir / "track-1.1.gpx", "more than 2 features", limits=Limits(max_features=2))


def test_corrupt_zip_directory(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("doc.kml", KML)
    data = bytearray(buf.getvalue())
    data[-22:] = b"\0" * 22  # wipe the end-of-central-directory record
    path = tmp_path / "x.kmz"
    path.write_bytes(b"PK\x03\x04" + bytes(data[4:]))
    refuse(path, "corrupt|unsupported")


def test_doctype_hidden_behind_a_long_prolog(tmp_path):
    padding = "<!-- " + "x" * (2 * 2**20) + " -->\n"
    path = tmp_path / "padded.gpx"
    path.write_text('<?xml version="1.0"?>\n' + padding + XXE.split("\n", 1)[1] + BODIES["gpx"].format(e="xxe"))
    refuse(path, "XML prolog is too long|unsupported")
    with pytest.raises(InputError, match="XML prolog is too long"):
        check_xml_head(path.read_bytes()[: 2**20], path)
    sneaky = tmp_path / "sneaky.osm"
    sneaky.write_text("<!-- <osm " + "y" * (2 * 2**20) + " -->" + XXE.split("\n", 1)[1] + BODIES["osm"].format(e="xxe"))
    refuse(sneaky, "XML prolog is too long|unsupported")


def test_check_xml_head_allows_plain_documents():
    check_xml_head(b'<?xml version="1.0"?>\n<!-- hi -->\n<!DOCTYPE osm>\n<osm version="0.6"/>', "x.osm")
    check_xml_head("\ufeff<gpx/>".encode("utf-16"), "x.gpx")
    with pytest.raises(InputError, match="entities"):
        check_xml_head('<!DOCTYPE gpx PUBLIC "-//x" "http://evil/x.dtd"><gpx/>'.encode("utf-16"), "x.gpx")


# --- Found by fuzzing (tests/mapdata/test_fuzz.py and the run reported in issue 10): each once ended in a traceback.

_OSM_HEAD = '<osm version="0.6"><bounds minlat="54" minlon="10" maxlat="54.1" maxlon="10.1"/>'
_NAMED_NODE = '<node id="1" version="1" lat="54.05" lon="10.05"><tag k="name" v="Hafen"/></node>'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('<node id="1" lat="abc" lon="10.05"><tag k="name" v="x"/></node>', "wrong format for coordinate: 'abc'"),
        ('<node id="99999999999999999999999" lat="54" lon="10"><tag k="name" v="x"/></node>', "illegal id"),
        (_NAMED_NODE + '<way id="2"><nd ref="abc"/><tag k="highway" v="primary"/></way>', "illegal id: 'abc'"),
        ('<node id="1" version="-5" lat="54" lon="10"><tag k="name" v="x"/></node>', "illegal version: '-5'"),
        ('<node id="1" timestamp="garbage" lat="54" lon="10"><tag k="name" v="x"/></node>', "timestamp: 'garbage'"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("pack", ["", ".gz", ".bz2"])
def test_osm_values_osmium_rejects(tmp_path, body, problem, pack):
    text = (_OSM_HEAD + body + "</osm>").encode()
    path = tmp_path / f"bad.osm{pack}"
    path.write_bytes({"": bytes, ".gz": gzip.compress, ".bz2": bz2.compress}[pack](text))
    err = refuse(path, "not valid OSM")
    assert problem in err.message and "\n" not in err.one_line()


def test_osm_bounds_with_nan(tmp_path):
    path = tmp_path / "nan.osm"
    bounds = '<bounds minlat="nan" minlon="10" maxlat="54.1" maxlon="10.1"/>'
    path.write_text(f'<osm version="0.6">{bounds}{_NAMED_NODE}</osm>')
    refuse(path, r"not valid OSM \(wrong format for coordinate: 'nan'\)")


@pytest.mark.parametrize(
    "body",
    [
        "",
        '<node id="1" lat="54" lon="10"/>',  # untagged: a detail of the map, not a feature
        '<way id="2"><nd ref="5"/><nd ref="6"/><tag k="highway" v="primary"/></way>',  # nodes not in the file
        '<relation id="3"><member type="relation" ref="3" role=""/><tag k="type" v="multipolygon"/></relation>',
    ],
)
def test_osm_without_features_or_bounds(tmp_path, body):
    path = tmp_path / "nothing.osm"
    path.write_text(f'<osm version="0.6">{body}</osm>')
    refuse(path, "no map features found")
    packed = tmp_path / "nothing.osm.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    refuse(packed, "no map features found")


def _feature_collection(tmp_path, props_list, name="lists.geojson") -> Path:
    features = [
        {"type": "Feature", "properties": p, "geometry": {"type": "Point", "coordinates": [13.4 + i / 100, 52.5]}}
        for i, p in enumerate(props_list)
    ]
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.mark.parametrize(
    ("props_list", "expected"),
    [
        ([{"tags": [1, 2, 3]}, {"tags": [4, 5]}], [{"tags": "1; 2; 3"}, {"tags": "4; 5"}]),  # ragged: ValueError
        ([{"tags": [1, 2]}, {"tags": [4, 5]}], [{"tags": "1; 2"}, {"tags": "4; 5"}]),  # equal length: IndexError
        ([{"v": [1.5, 2.25]}, {"v": [-1e300]}], [{"v": "1.5; 2.25"}, {"v": "-1e+300"}]),
        ([{"ok": [True, False]}, {"ok": None}], [{"ok": "true; false"}, {}]),  # pyogrio cannot read bool lists
        ([{"v": [1, "a", None]}, {"v": 5}], [{"v": "1; a; null"}, {"v": "5"}]),  # mixed: GDAL gives JSON text
        ([{"v": []}, {"v": ["", "x"]}], [{}, {"v": "; x"}]),
    ],
)
def test_geojson_list_properties_become_text(tmp_path, props_list, expected):
    data = read_file(_feature_collection(tmp_path, props_list))
    assert [dict(p) for p in data.props] == expected


def test_geojson_list_name_is_joined(tmp_path):
    data = read_file(_feature_collection(tmp_path, [{"name": ["Rotes Rathaus", "Berliner Rathaus"]}]))
    assert list(data.names) == ["Rotes Rathaus; Berliner Rathaus"]
    data = read_file(_feature_collection(tmp_path, [{"name": ["Alex"]}, {"name": ["a", "b"], "amenity": "cafe"}]))
    assert list(data.names) == ["Alex", "a; b"]


def test_geojson_object_properties_become_compact_json(tmp_path):
    props = [{"name": "Spree", "names": {"en": "Spree", "hsb": "Sprjewja"}, "deep": {"a": [1, {"b": None}]}}]
    data = read_file(_feature_collection(tmp_path, props))
    assert data.names[0] == "Spree"
    assert data.props[0]["names"] == '{"en": "Spree", "hsb": "Sprjewja"}'
    assert data.props[0]["deep"] == '{"a": [1, {"b": null}]}'


def test_shapefile_prj_that_is_not_utf8(data_dir, tmp_path):
    shp = _shapefile_copy(data_dir, tmp_path)
    prj = shp.with_suffix(".prj")
    prj.write_bytes(prj.read_bytes().replace(b"Transverse_Mercator", b"Transve\xcfse_Mercator"))
    refuse(shp, r"coordinate system \(\.prj\) is corrupt")  # pyogrio itself fails with UnboundLocalError here


def test_kml_with_an_unknown_or_multibyte_encoding(data_dir, tmp_path):
    for enc in ("abc", "NaN", "Shift_JIS", "utf-7", "idna"):
        text = (data_dir / "folders.kml").read_bytes().replace(b'encoding="UTF-8"', f'encoding="{enc}"'.encode())
        path = tmp_path / "enc.kml"
        path.write_bytes(text)
        refuse(path, "corrupt|encoding")
        refuse(_zip(tmp_path / "enc.kmz", {"doc.kml": text}), "corrupt|encoding")


def test_kmz_member_that_does_not_decompress(data_dir, tmp_path):
    packed = bytearray(_zip(tmp_path / "ok.kmz", {"doc.kml": (data_dir / "folders.kml").read_bytes()}).read_bytes())
    start = packed.index(b"doc.kml") + len(b"doc.kml")  # the deflate stream follows the local header's name
    for i in range(start + 20, start + 60):
        packed[i] ^= 0x5A
    path = tmp_path / "bad.kmz"
    path.write_bytes(bytes(packed))
    refuse(path, "corrupt")


def test_no_library_warning_reaches_stderr(data_dir, tmp_path):
    """An OSM file with a stray "{" sniffs as GeoJSON; GDAL opens it with its OSM driver, and pyogrio's
    "More than one layer found" warning, attributed to our code, used to reach the person's stderr."""
    osm = tmp_path / "brace.osm"
    osm.write_bytes(b"{" + (data_dir / "harbour.osm").read_bytes()[1:])
    gpx = tmp_path / "nan.gpx"  # shapely's "invalid value encountered in from_wkb" for a NaN coordinate
    gpx.write_text((data_dir / "track-1.1.gpx").read_text().replace('lat="46.5100"', 'lat="nan"', 1))
    for path, code in ((osm, 2), (gpx, 0)):
        done = subprocess.run([sys.executable, "-m", "app", "inspect", str(path)], capture_output=True, text=True)
        assert done.returncode == code, done.stderr
        noise = [line for line in done.stderr.splitlines() if not line.startswith("mapbrush: ")]
        assert not noise, done.stderr


# ----- a GeoJSON where every feature has its own keys ----------------------------------------------------------
def _own_keys_geojson(path: Path, n: int) -> Path:
    """Survey notes as some exporters write them: every point has a name, a few have a bench, and each has a key
    of its own (a per-feature note column), so the file has n + 2 attribute columns."""
    feats = [
        {"type": "Feature",
         "properties": {"name": f"Spot {i}", "amenity": "bench" if i % 3 == 0 else None, f"note_{i:05d}": f"seen {i}"},
         "geometry": {"type": "Point", "coordinates": [24.9 + i * 1e-5, 60.1 + (i % 50) * 1e-4]}}
        for i in range(n)
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "name": "Survey", "features": feats}))
    return path


def test_many_distinct_keys_are_read_in_bounded_memory(tmp_path):
    import tracemalloc

    path = _own_keys_geojson(tmp_path / "survey.geojson", 3000)  # ~450 KB; all columns read: 74 MB peak, 3.7 s
    tracemalloc.start()
    try:
        data = read_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert len(data) == 3000 and data.names[7] == "Spot 7"
    assert data.counts() == {"poi": 1000, "other": 2000}  # the benches are points of interest, as before
    assert sum(1 for p in data.props if p.get("amenity") == "bench") == 1000
    assert not any(k.startswith("note_") for p in data.props for k in p)
    assert data.sources[0].name == "Survey"
    [warning] = [w for w in data.warnings if "attribute columns" in w]
    assert warning.startswith("survey.geojson: 3,002 attribute columns, more than 1,000: read only the 2 ")
    assert "extra attribute columns were ignored" in warning


def test_a_wide_but_ordinary_geojson_keeps_every_column(tmp_path):
    path = _own_keys_geojson(tmp_path / "survey.geojson", 800)  # over the schema check's size, under the limit
    assert path.stat().st_size > 64 * 1024
    data = read_file(path)
    assert not data.warnings and sum(1 for p in data.props for k in p if k.startswith("note_")) == 800
    few = read_file(path, limits=Limits(max_fields=500))  # the limit is the Limits' own
    assert any("802 attribute columns, more than 500" in w for w in few.warnings)
