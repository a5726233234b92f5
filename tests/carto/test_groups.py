"""Data in groups far apart (a city extract and a hike in another country, ~1,000 km away) leave the
page mostly empty: a warning names the groups, and one group can be framed alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely

from app.errors import InputError
from app.jobs.render import RenderRequest, render
from app.mapdata.model import Kind

ROOT = Path(__file__).resolve().parents[2]
TOWN = ROOT / "resources" / "examples" / "harbour_town.geojson"  # the demo town near 59.0° N 10.0° E
SIZE = (480, 360)


def write_hike(path: Path, lon0: float = 14.2, lat0: float = 50.9, name: str = "Sandstone ridge") -> Path:
    """A GPX day hike (a wiggly 5 km track and a start waypoint) around lon0, lat0."""
    t = np.linspace(0.0, 1.0, 80)
    lon = lon0 + 0.05 * np.sin(6 * t) + 0.04 * t
    lat = lat0 + 0.03 * t + 0.01 * np.cos(9 * t)
    pts = "\n".join(f'<trkpt lat="{a:.6f}" lon="{o:.6f}"><ele>{300 + 40 * s:.1f}</ele></trkpt>'
                    for o, a, s in zip(lon, lat, t))  # fmt: skip
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f'<wpt lat="{lat0:.6f}" lon="{lon0:.6f}"><name>Start</name></wpt>\n'
        f"<trk><name>{name}</name><trkseg>\n{pts}\n</trkseg></trk></gpx>\n"
    )
    return path


@pytest.fixture
def hike(tmp_path) -> Path:
    return write_hike(tmp_path / "hike.gpx")


def _req(inputs, **kw) -> RenderRequest:
    return RenderRequest(list(inputs), style="ink", size=SIZE, seed=1, **kw)


def test_two_files_1000_km_apart_are_named_in_a_warning(hike):
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(10.0, 59.0, 14.2, 50.9)
    assert 900e3 < dist < 1100e3
    res = render(_req([TOWN, hike]))
    (w,) = [w for w in res.warnings if "groups far apart" in w]
    assert re.fullmatch(
        r"the data falls into 2 groups far apart \(harbour_town\.geojson near 59\.0° N 10\.0° E; "
        r"hike\.gpx near 50\.9° N 14\.2° E\): the map is mostly empty; frame one group with --frame N \(1 to 2\)",
        w,
    ), w
    assert [g.files for g in res.groups] == [("harbour_town.geojson",), ("hike.gpx",)]
    assert len(res.groups[0].rows) + len(res.groups[1].rows) == len(res.data)


def test_framing_one_group_shows_only_it(hike):
    whole = render(_req([TOWN, hike]))
    town = render(_req([TOWN, hike], frame=1))
    trail = render(_req([TOWN, hike], frame=2))
    assert not [w for w in town.warnings + trail.warnings if "far apart" in w]
    w, s, e, n = trail.scene.frame.lonlat_bounds
    assert 14.1 < w < e < 14.35 and 50.85 < s < n < 50.98  # the hike's few kilometres, not 1,000 km
    w, s, e, n = town.scene.frame.lonlat_bounds
    assert 9.9 < w < e < 10.1 and 58.9 < s < n < 59.1
    # the track is a speck on the whole page and a real line once framed
    track_px = lambda r: int((r.layers.mask(Kind.TRACK) > 127).sum())  # noqa: E731
    assert track_px(trail) > 20 * max(track_px(whole), 1)
    assert "Salthaven" in town.metadata["title"]  # each group is titled from its own data
    assert "Salthaven" not in (trail.metadata["title"] or "")
    assert trail.metadata["frame"] == 2 and len(trail.groups) == 2  # the window can still offer "all"


def test_framing_a_group_that_is_not_there_is_an_input_error(hike):
    with pytest.raises(InputError, match="cannot frame group 3: the data falls into only 2 groups far apart"):
        render(_req([TOWN, hike], frame=3))
    with pytest.raises(InputError, match="cannot frame group 1: the data falls into no groups far apart"):
        render(_req([TOWN], frame=1))


def test_data_close_together_or_linked_is_one_group(tmp_path, hike):
    near = write_hike(tmp_path / "near.gpx", lon0=10.0, lat0=59.0)
    res = render(_req([TOWN, near]))
    assert not res.groups and not [w for w in res.warnings if "far apart" in w or "mostly empty" in w]
    # a drive from the town to the hike links them: the page is the route, not two specks
    route = tmp_path / "drive.geojson"
    line = shapely.LineString([(10.0, 59.0), (11.0, 57.5), (12.5, 55.0), (13.5, 53.0), (14.2, 50.9)])
    route.write_text('{"type": "Feature", "properties": {"name": "drive"}, "geometry": '
                     f"{shapely.to_geojson(line)}}}")  # fmt: skip
    res = render(_req([TOWN, hike, route]))
    assert not res.groups and not [w for w in res.warnings if "far apart" in w]


def test_cli_warns_and_frames_one_group(tmp_path, hike):
    def run(*args):
        cmd = [sys.executable, "-m", "app", "render", str(TOWN), str(hike), "--size", "400x300", "--style", "ink"]
        return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=tmp_path, timeout=300)

    proc = run("-o", "both.png")
    assert proc.returncode == 0, proc.stderr
    assert "mapbrush: warning: the data falls into 2 groups far apart (harbour_town.geojson near" in proc.stderr
    proc = run("-o", "hike.png", "--frame", "2")
    assert proc.returncode == 0, proc.stderr
    assert "far apart" not in proc.stderr and (tmp_path / "hike.png").is_file()


# ----- pictures (KML GroundOverlays) belong to their group ------------------------------------------------------
def _survey_kml(folder: Path, far_box=None) -> Path:
    """The lake-side village's placemarks and scanned map; with far_box, a second scan far from them."""
    from tests.mapdata.kml_samples import BOX, ground_overlay, image_bytes, kml, placemarks

    (folder / "scan.jpg").write_bytes(image_bytes(96, 64))
    (folder / "far.jpg").write_bytes(image_bytes(96, 64, colour=(150, 60, 40)))
    body = placemarks() + ground_overlay("Village survey", "scan.jpg", BOX)
    if far_box:
        body += ground_overlay("Coast survey", "far.jpg", far_box)
    path = folder / "survey.kml"
    path.write_text(kml(body, "Survey"))
    return path


def test_framing_a_group_keeps_only_its_own_pictures(tmp_path, hike):
    from tests.mapdata.kml_samples import WINDOW

    kml = _survey_kml(tmp_path)  # near 46.4° N 14.1° E; the hike ~500 km north
    whole = render(_req([kml, hike]))
    assert [g.files for g in whole.groups] == [("survey.kml",), ("hike.gpx",)]
    assert [g.pictures for g in whole.groups] == [(0,), ()]
    village, trail = render(_req([kml, hike], frame=1)), render(_req([kml, hike], frame=2))
    assert len(village.scene.rasters) == 1 and not trail.scene.rasters
    w, s, e, n = village.scene.frame.lonlat_bounds
    assert w <= WINDOW[0] and e >= WINDOW[2] and e - w < 0.3  # the village, its scan inside
    w, s, e, n = trail.scene.frame.lonlat_bounds
    assert 14.1 < w < e < 14.35 and 50.85 < s < n < 50.98  # the hike only: no scan widening it


def test_a_group_that_is_only_a_picture_can_be_framed(tmp_path):
    far = (15.0, 44.0, 15.04, 44.02)  # a scan of a coast ~270 km from the village, no placemark near it
    kml = _survey_kml(tmp_path, far_box=far)
    whole = render(_req([kml]))
    assert len(whole.groups) == 2 and whole.groups[1].pictures == (1,) and not len(whole.groups[1].rows)
    assert whole.groups[1].label() == "1 picture near 44.0° N 15.0° E"
    coast = render(_req([kml], frame=2))
    assert len(coast.scene.rasters) == 1 and len(coast.scene.geometries) == 0
    w, s, e, n = coast.scene.frame.lonlat_bounds
    assert w <= far[0] < far[2] <= e and s <= far[1] < far[3] <= n and e - w < 0.2  # framed to the scan
    area = coast.image[100:260, 100:380].astype(int)
    assert abs(area[..., 0].mean() - area[..., 2].mean()) > 20  # the reddish scan is drawn, not blank paper
