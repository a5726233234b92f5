from __future__ import annotations

import bz2
import gzip
import hashlib
import shutil
import zipfile

import numpy as np
import pytest
import shapely
from pyogrio import raw as ogr_raw

from app.errors import Cancelled, InputError
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress
from app.mapdata.io import read_file, read_files, sniff
from app.mapdata.model import Kind


def by_name(data, name):
    hits = [i for i, n in enumerate(data.names) if n == name]
    assert hits, f"{name} not in {list(data.names)}"
    return hits[0]


def test_geojson_sample(data_dir):
    path = data_dir / "sample.geojson"
    data = read_file(path)
    assert len(data) == 8
    assert data.kinds[by_name(data, "Main Street")] is Kind.PRIMARY
    assert data.kinds[by_name(data, "Little Park")] is Kind.PARK
    assert data.kinds[by_name(data, "Pond")] is Kind.WATER  # NAME in capitals
    assert data.kinds[by_name(data, "Spree")] is Kind.WATERWAY  # Name capitalised
    assert data.kinds[by_name(data, "Berlin")] is Kind.PLACE
    assert Kind.BUILDING in set(data.kinds) and Kind.PATH in set(data.kinds)
    assert Kind.OTHER in set(data.kinds)  # the unknown point is kept
    src = data.sources[0]
    assert src.format == "geojson" and src.crs == "EPSG:4326" and src.features == 8 and src.dropped == 0
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.warnings == []


@pytest.mark.parametrize("name", ["track-1.0.gpx", "track-1.1.gpx"])
def test_gpx_versions(data_dir, name):
    data = read_file(data_dir / name)
    assert data.sources[0].format == "gpx"
    kinds = set(data.kinds)
    assert kinds == {Kind.TRACK, Kind.POI}
    for g, k in zip(data.geometries, data.kinds):
        assert g.geom_type == ("Point" if k is Kind.POI else "MultiLineString")


def test_gpx_segments_routes_waypoints(data_dir):
    data = read_file(data_dir / "track-1.1.gpx")
    walk = data.geometries[by_name(data, "Morning Walk")]
    assert len(walk.geoms) == 2  # the empty <trkseg/> is gone
    assert data.kinds[by_name(data, "Planned Route")] is Kind.TRACK
    assert data.kinds[by_name(data, "Hut")] is Kind.POI
    assert "Empty Track" not in list(data.names)
    assert "skipped 1 feature without geometry" in data.warnings


@pytest.mark.parametrize("name", ["folders.kml", "folders.kmz"])
def test_kml_nested_folders(data_dir, name):
    data = read_file(data_dir / name)
    assert data.sources[0].format == name.rsplit(".", 1)[1]
    names = list(data.names)
    assert {"Start", "Walk", "Garden", "Combo"} <= set(names)
    assert data.kinds[by_name(data, "Start")] is Kind.POI
    assert data.kinds[by_name(data, "Walk")] is Kind.TRACK
    garden = by_name(data, "Garden")
    assert data.kinds[garden] is Kind.PARK  # from ExtendedData
    assert len(data.geometries[garden].interiors) == 1
    assert data.props[garden]["folder"] == "Parks"
    combo = sorted(g.geom_type for g, n in zip(data.geometries, names) if n == "Combo")
    assert combo == ["MultiLineString", "MultiPoint"]  # mixed MultiGeometry split by dimension


def test_shapefile_reprojected_from_prj(data_dir):
    data = read_file(data_dir / "zurich_utm.shp")
    assert data.sources[0].crs == "EPSG:32632"
    street = data.geometries[by_name(data, "Bahnhofstrasse")]
    np.testing.assert_allclose(shapely.get_coordinates(street), [[8.53, 47.37], [8.55, 47.38]], atol=1e-7)
    assert data.kinds[by_name(data, "Platzspitz")] is Kind.PATH


def _zip_shapefile(data_dir, dest, folder=""):
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            zf.write(data_dir / f"zurich_utm{ext}", f"{folder}zurich_utm{ext}")
    return dest


def test_shapefile_zip_with_two_layers_in_different_crs(data_dir, tmp_path):
    lonlat = tmp_path / "ll.shp"
    ogr_raw.write(
        str(lonlat),
        geometry=shapely.to_wkb(np.array([shapely.Point(8.54, 47.375)], object)),
        field_data=[np.array(["Hauptbahnhof"], object), np.array(["station"], object)],
        fields=["name", "railway"],
        driver="ESRI Shapefile",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    dest = _zip_shapefile(data_dir, tmp_path / "both.zip", folder="data/")
    with zipfile.ZipFile(dest, "a") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(lonlat.with_suffix(ext), f"ll{ext}")
    assert sniff(dest) == "shapefile"
    data = read_file(dest)
    assert len(data) == 4
    assert data.kinds[by_name(data, "Hauptbahnhof")] is Kind.POI
    assert shapely.get_coordinates(data.geometries[by_name(data, "Limmatquai")])[0, 0] == pytest.approx(8.54)


def test_gpkg_and_fgb(tmp_path):
    for driver, ext, fmt in (("GPKG", "gpkg", "gpkg"), ("FlatGeobuf", "fgb", "fgb")):
        path = tmp_path / f"x.{ext}"
        ogr_raw.write(
            str(path),
            geometry=shapely.to_wkb(np.array([shapely.LineString([(0, 0), (1, 1)])], object)),
            field_data=[np.array(["motorway"], object), np.array(["A1"], object)],
            fields=["highway", "name"],
            driver=driver,
            geometry_type="LineString",
            crs="EPSG:4326",
        )
        assert sniff(path) == fmt
        data = read_file(path)
        assert list(data.kinds) == [Kind.MOTORWAY] and list(data.names) == ["A1"]


@pytest.mark.parametrize("name", ["harbour.osm", "harbour.osm.pbf"])
def test_osm(data_dir, name):
    data = read_file(data_dir / name)
    assert data.sources[0].format == ("osm-pbf" if name.endswith("pbf") else "osm-xml")
    assert data.extent == pytest.approx((10.0, 54.0, 10.1, 54.1))
    assert data.kinds[by_name(data, "Hafenstraße")] is Kind.PRIMARY
    assert data.kinds[by_name(data, "Hafenstadt")] is Kind.PLACE
    assert data.kinds[by_name(data, "Kaffee")] is Kind.POI
    lake = by_name(data, "See")  # multipolygon relation with an inner ring
    assert data.kinds[lake] is Kind.WATER
    assert not data.geometries[lake].contains(shapely.Point(10.025, 54.092))
    assert data.geometries[lake].contains(shapely.Point(10.015, 54.090))
    roundabout = [i for i, p in enumerate(data.props) if p.get("junction") == "roundabout"]
    assert data.geometries[roundabout[0]].geom_type == "LineString"
    assert data.kinds[roundabout[0]] is Kind.TERTIARY
    assert Kind.BUILDING in set(data.kinds) and Kind.PARK in set(data.kinds)
    assert list(data.kinds).count(Kind.SEA) == 1
    assert data.place_name() == "Hafenstadt"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_compressed_osm(data_dir, tmp_path, compress):
    path = tmp_path / "harbour.osm.packed"
    path.write_bytes(compress((data_dir / "harbour.osm").read_bytes()))
    assert sniff(path) == "osm-xml"
    data = read_file(path)
    assert data.kinds[by_name(data, "Hafenstraße")] is Kind.PRIMARY


def test_sniff_ignores_misleading_extensions(data_dir, tmp_path):
    cases = {
        "sample.geojson": "geojson",
        "track-1.1.gpx": "gpx",
        "folders.kml": "kml",
        "folders.kmz": "kmz",
        "harbour.osm": "osm-xml",
        "harbour.osm.pbf": "osm-pbf",
        "zurich_utm.shp": "shapefile",
    }
    for name, fmt in cases.items():
        renamed = tmp_path / f"{fmt}.dat"
        shutil.copy(data_dir / name, renamed)
        assert sniff(renamed) == fmt
    assert read_file(tmp_path / "osm-pbf.dat").sources[0].format == "osm-pbf"


def test_read_files_layers_in_order(data_dir):
    data = read_files([data_dir / "sample.geojson", data_dir / "track-1.1.gpx"])
    assert [s.format for s in data.sources] == ["geojson", "gpx"]
    assert len(data) == 8 + 4
    assert data.names[0] == "Main Street" and data.names[8] == "Hut"


def test_progress_and_cancel(data_dir):
    events = []
    read_file(data_dir / "harbour.osm", progress=Progress(events.append, hz=0))
    assert events and events[-1].fraction == 1.0 and all(e.stage == "read" for e in events)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        read_file(data_dir / "harbour.osm", cancel=token)


# ----- shapefile side files, a missing index, zips Python cannot unpack --------------------------------------------
def _shapefile_without_index(data_dir, folder):
    for ext in (".shp", ".dbf", ".prj", ".cpg"):
        shutil.copy(data_dir / f"zurich_utm{ext}", folder / f"zurich_utm{ext}")
    return folder / "zurich_utm.shp"


def test_shapefile_without_shx_is_read_and_the_folder_is_left_alone(data_dir, tmp_path):
    shp = _shapefile_without_index(data_dir, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    data = read_file(shp)
    full = read_file(data_dir / "zurich_utm.shp")
    assert len(data) == len(full) > 0
    assert sorted(data.names) == sorted(full.names)
    assert data.sources[0].crs == "EPSG:32632"
    assert any(".shx" in w and "zurich_utm.shp" in w for w in data.warnings), data.warnings
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .shx written beside the person's file


def test_zipped_shapefile_without_shx_is_read(data_dir, tmp_path):
    dest = tmp_path / "noindex.zip"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for ext in (".shp", ".dbf", ".prj"):
            zf.write(data_dir / f"zurich_utm{ext}", f"zurich_utm{ext}")
    data = read_file(dest)
    assert len(data) == len(read_file(data_dir / "zurich_utm.shp"))
    assert any("zurich_utm.shp" in w and ".shx" in w for w in data.warnings), data.warnings


@pytest.mark.parametrize("ext", [".dbf", ".shx", ".prj", ".cpg"])
def test_a_side_file_names_the_shp_to_open(data_dir, tmp_path, ext):
    for e in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        shutil.copy(data_dir / f"zurich_utm{e}", tmp_path / f"zurich_utm{e}")
    side = tmp_path / f"zurich_utm{ext}"
    with pytest.raises(InputError) as info:
        read_file(side)
    line = info.value.one_line()
    assert line.startswith(str(side)) and "open zurich_utm.shp (or the .zip) instead" in line


def test_a_lone_side_file_says_the_shp_is_missing(data_dir, tmp_path):
    side = tmp_path / "roads.dbf"
    shutil.copy(data_dir / "zurich_utm.dbf", side)
    with pytest.raises(InputError, match=r"open the \.shp \(or the \.zip\) instead \(roads\.shp is not beside it\)"):
        read_file(side)


def _zip_needing_version(dest, member, payload, version=255):
    """A zip whose central directory says it needs zip version 25.5 to extract (newer than Python's zipfile)."""
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr(member, payload)
    data = bytearray(dest.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 6 : central + 8] = version.to_bytes(2, "little")
    dest.write_bytes(bytes(data))
    return dest


@pytest.mark.parametrize("name", ["doc.kmz", "roads.zip"])
def test_zip_version_python_cannot_unpack_is_an_input_error(tmp_path, name):
    kml = b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>'
    dest = _zip_needing_version(tmp_path / name, "doc.kml", kml)
    with pytest.raises(InputError, match=r"cannot unpack.*zip file version 25\.5") as info:
        read_file(dest)
    assert info.value.path == str(dest)


def test_open_zip_refuses_a_zip_version_it_cannot_unpack(tmp_path):
    from app.mapdata.limits import DEFAULT_LIMITS
    from app.mapdata.safety import open_zip

    dest = _zip_needing_version(tmp_path / "x.kmz", "doc.kml", b"<kml/>")
    with pytest.raises(InputError, match="cannot unpack"):
        open_zip(dest, DEFAULT_LIMITS)
