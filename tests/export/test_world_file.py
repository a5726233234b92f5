"""Georeferenced export: the world file and .prj beside a picture put its pixels where the projection does (the
centre of the top-left pixel convention, checked against the discs the picture itself draws); the DPI a
picture is printed at is in its PNG pHYs chunk."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from app.export.world import world_terms
from app.jobs.render import RenderRequest, render_to_file

ROOT = Path(__file__).resolve().parents[2]
# Four viewpoints at the corners of a small stretch of Bergen's waterfront, and two streets between them.
CORNERS = [(5.3120, 60.3920), (5.3380, 60.3920), (5.3380, 60.4010), (5.3120, 60.4010)]


@pytest.fixture
def geojson(tmp_path) -> Path:
    feats = [
        {"type": "Feature", "properties": {"tourism": "viewpoint", "name": f"View {i}"},
         "geometry": {"type": "Point", "coordinates": list(p)}}
        for i, p in enumerate(CORNERS)
    ]  # fmt: skip
    feats += [
        {"type": "Feature", "properties": {"highway": "residential", "name": "Strandkaien"},
         "geometry": {"type": "LineString", "coordinates": [[5.3150, 60.3940], [5.3250, 60.3965], [5.3350, 60.3990]]}},
        {"type": "Feature", "properties": {"highway": "primary", "name": "Bryggen"},
         "geometry": {"type": "LineString", "coordinates": [[5.3200, 60.3930], [5.3230, 60.4000]]}},
    ]  # fmt: skip
    path = tmp_path / "bergen.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def _read_world(path: Path) -> np.ndarray:
    vals = [float(v) for v in path.read_text().split()]
    assert len(vals) == 6
    return np.array(vals)


def _to_lonlat(world: np.ndarray, prj: Path, i, j) -> tuple[np.ndarray, np.ndarray]:
    """Pixel index (i col, j row; pixel centres) → lon/lat through the world file and the .prj."""
    A, D, B, E, C, F = world
    x, y = A * np.asarray(i) + B * np.asarray(j) + C, D * np.asarray(i) + E * np.asarray(j) + F
    t = Transformer.from_crs(CRS.from_wkt(prj.read_text()), "EPSG:4326", always_xy=True)
    return t.transform(x, y)


def _render(geojson: Path, out: Path, rotation: float = 0.0):
    req = RenderRequest(inputs=[geojson], style="ink", size=(400, 300), seed=1, rotation=rotation, labels=False,
                        scale_bar=False, north_arrow=False, title="")  # fmt: skip
    return render_to_file(req, out, world_file=True, keep=True)  # the masks show where the points are drawn


def _point_pixels(result) -> tuple[np.ndarray, object]:
    """The viewpoints' pixel positions (continuous, (0, 0) the top-left corner) and the mask they are drawn in."""
    scene = result.scene
    pts = [(i, g) for i, g in enumerate(scene.geometries) if shapely.get_type_id(g) == 0]
    assert len(pts) == 4
    kind = scene.kinds[pts[0][0]]
    return np.array([[g.x, g.y] for _, g in pts]), result.layers.masks[kind]


@pytest.mark.parametrize("rotation", [0.0, 30.0])
def test_world_file_maps_the_corner_points_to_where_they_are(geojson, tmp_path, rotation):
    result = _render(geojson, tmp_path / "map.png", rotation)
    world = _read_world(tmp_path / "map.pgw")
    prj = tmp_path / "map.prj"
    assert prj.read_text().startswith("PROJCS[")  # ESRI WKT1, what .prj files hold
    A, D, B, E = world[:4]
    if rotation == 0.0:
        assert B == 0 and D == 0 and A > 0 and E < 0 and pytest.approx(-E) == A  # north up, square pixels
    else:
        assert abs(B) > 0.1 * A and abs(D) > 0.1 * A  # the rotation terms, written rather than left out
    xy, mask = _point_pixels(result)
    # The points lie at the corners of the framed data: far apart, near the picture's corners.
    assert np.ptp(xy[:, 0]) > 200 and np.ptp(xy[:, 1]) > 120
    lon, lat = _to_lonlat(world, prj, xy[:, 0] - 0.5, xy[:, 1] - 0.5)  # pixel (i, j)'s centre is (i+.5, j+.5)
    got = sorted(zip(np.round(lon, 7), np.round(lat, 7)))
    for (glon, glat), (elon, elat) in zip(got, sorted(CORNERS)):
        assert glon == pytest.approx(elon, abs=1e-6) and glat == pytest.approx(elat, abs=1e-6)
    # The picture itself: each disc's centroid (in pixel indices) is where the world file says the point is.
    size_m = float(np.hypot(A, D))
    for x, y in xy:
        r = 12
        x0, y0 = int(x) - r, int(y) - r
        win = mask[y0 : y0 + 2 * r, x0 : x0 + 2 * r].astype(float)
        jj, ii = np.mgrid[y0 : y0 + 2 * r, x0 : x0 + 2 * r]
        ci, cj = (win * ii).sum() / win.sum(), (win * jj).sum() / win.sum()
        assert ci == pytest.approx(x - 0.5, abs=0.1) and cj == pytest.approx(y - 0.5, abs=0.1)
        plon, plat = _to_lonlat(world, prj, ci, cj)
        near = min(CORNERS, key=lambda c: abs(c[0] - plon) + abs(c[1] - plat))
        t = Transformer.from_crs("EPSG:4326", CRS.from_wkt(prj.read_text()), always_xy=True)
        (px, py), (ex, ey) = t.transform(plon, plat), t.transform(*near)
        assert np.hypot(px - ex, py - ey) < 0.15 * size_m


def test_world_terms_use_the_centre_of_the_top_left_pixel():
    # 2 m pixels, north up, the map's (1000, 5000) at the canvas' top-left corner: col = x/2 - 500, row = 2500 - y/2
    terms = world_terms((0.5, 0.0, -500.0, 0.0, -0.5, 2500.0))
    assert terms == pytest.approx((2.0, 0.0, 0.0, -2.0, 1001.0, 4999.0))


@pytest.mark.parametrize(("name", "world"), [("map.jpg", "map.jgw"), ("map.webp", "map.wld")])
def test_world_file_named_for_the_picture_format(geojson, tmp_path, name, world):
    _render(geojson, tmp_path / name)
    assert (tmp_path / world).is_file() and (tmp_path / "map.prj").is_file()
    assert len(_read_world(tmp_path / world)) == 6


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)  # fmt: skip


def _phys(png: Path) -> tuple[int, int, int]:
    data = png.read_bytes()
    at = 8
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"pHYs":
            return struct.unpack(">IIB", data[at + 8 : at + 17])
        if kind == b"IDAT":
            break
        at += 12 + n
    raise AssertionError("no pHYs chunk before the image data")


def test_cli_world_file_and_print_dpi(geojson, tmp_path):
    out = tmp_path / "bergen.png"
    proc = _cli("render", geojson, "-o", out, "--size", "320x240", "--world-file", "--dpi", "300")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bergen.pgw").is_file() and (tmp_path / "bergen.prj").is_file()
    x, y, unit = _phys(out)
    assert unit == 1 and x == y == round(300 / 0.0254)  # pixels per metre


def test_cli_refuses_a_world_file_for_a_vector_document(geojson, tmp_path):
    proc = _cli("render", geojson, "-o", tmp_path / "bergen.svg", "--world-file")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bergen.svg" in lines[0] and "--world-file" in lines[0]
    assert not (tmp_path / "bergen.svg").exists()
