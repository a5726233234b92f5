"""Relief as each style paints it: a GPX hike in the (synthetic) Julian Alps rendered with and without terrain from
a loopback Terrarium server, same framing. The slopes change the picture in every style; ink and blueprint draw
contour lines at round heights; the structure image the AI engines see is shaded; no network, no tiles: the map is
drawn without relief and says so."""

from __future__ import annotations

import ipaddress
import math
import socket

import numpy as np
import pytest

from app.jobs.render import RenderRequest, load, render
from app.render.relief import FLAT, hillshade
from app.sources.terrain import TERRAIN_ATTRIBUTION
from app.styles.catalog import load_styles
from app.styles.relief import auto_interval
from tests.render.track_files import write_hike
from tests.sources.terrarium_server import TileServer

STYLES = ("watercolor", "parchment", "fantasy", "ink", "blueprint", "poster", "noir")
SIZE = (640, 480)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a test tried to reach {address[0]}: only loopback servers are allowed")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="module")
def tiles():
    with TileServer(lifetime=300) as srv:
        yield srv


@pytest.fixture(scope="module")
def hike(tmp_path_factory):
    path = write_hike(tmp_path_factory.mktemp("hike") / "hike.gpx")
    return path, load([path])


@pytest.fixture
def terrain_env(tiles, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("MAPBRUSH_TERRAIN_URL", tiles.template)
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "relief-cache"))
    return tiles


def _pair(hike, style: str):
    path, data = hike
    plain = render(RenderRequest([path], style=style, size=SIZE), data=data)
    relief = render(RenderRequest([path], style=style, size=SIZE, terrain=True), data=data)
    return plain, relief


def test_every_style_paints_the_relief(terrain_env, hike):
    styles = load_styles()
    for name in STYLES:
        assert any(s.name == "relief" for s in styles[name].effects), name
        plain, relief = _pair(hike, name)
        assert relief.warnings == plain.warnings, name
        assert relief.scene.frame == plain.scene.frame  # same framing
        r = relief.layers.relief
        assert r is not None and plain.layers.relief is None
        diff = np.abs(relief.sketch.astype(int) - plain.sketch.astype(int)).max(axis=2)
        slope = r.at_canvas(np.degrees(np.arctan(r.slope())))
        steep, gentle = slope > 25, slope < 5
        assert steep.mean() > 0.05 and gentle.mean() > 0.01
        changed_steep = (diff[steep] > 6).mean()
        assert changed_steep > 0.15, (name, changed_steep)  # the slopes show
        assert diff[steep].mean() > 1.5 * diff[gentle].mean() + 0.5, name  # ... more than the level ground
        meta = relief.metadata["relief"]
        assert meta["source"] == terrain_env.template and meta["attribution"] == TERRAIN_ATTRIBUTION
        assert TERRAIN_ATTRIBUTION in relief.metadata["attribution"]
        assert TERRAIN_ATTRIBUTION not in plain.metadata.get("attribution", [])
        assert "relief" not in plain.metadata
        # the structure image (the AI engines' conditioning) is shaded too
        sdiff = np.abs(relief.layers.structure.astype(int) - plain.layers.structure.astype(int)).max(axis=2)
        assert (sdiff[steep] > 8).mean() > 0.3, name


@pytest.mark.parametrize("name", ["ink", "blueprint"])
def test_contour_lines_at_round_heights(terrain_env, hike, name):
    plain, relief = _pair(hike, name)
    r = relief.layers.relief
    ink = name == "ink"
    a, b = relief.sketch.astype(int).sum(axis=2), plain.sketch.astype(int).sum(axis=2)
    line = (b - a > 60) if ink else (a - b > 60)  # ink darkens the paper; blueprint's cyan lines lighten it
    assert 0.01 < line.mean() < 0.3, line.mean()  # thin lines, not a shade over everything
    step = auto_interval(r, 6.0 * min(SIZE) / 1024)
    assert step in (5, 10, 20, 25, 50, 100)
    elev = r.at_canvas(r.elevation)
    off = np.abs(elev - np.round(elev / step) * step) / step  # 0 on a contour, 0.5 half-way between
    assert np.median(off[line]) < 0.12  # the lines lie on the round heights
    assert np.median(off[~line]) > 0.2
    # lines run along the slope's contours: a row across the steep face crosses several of them
    rows = line.sum(axis=1)
    assert rows.max() >= 6


def test_no_tiles_renders_without_relief_and_says_so(hike, monkeypatch):
    with TileServer() as srv:
        template = srv.template
    monkeypatch.setenv("MAPBRUSH_TERRAIN_URL", template)  # nothing listens there any more
    path, data = hike
    res = render(RenderRequest([path], style="ink", size=SIZE, terrain=True), data=data)
    assert res.layers.relief is None
    assert any(w.startswith("drawn without relief") and "cannot reach" in w for w in res.warnings)
    assert res.metadata["relief"] is None
    assert TERRAIN_ATTRIBUTION not in res.metadata.get("attribution", [])


def test_hillshade_lights_the_top_left():
    z = np.full((3, 3), 0.0, np.float32)
    assert np.allclose(hillshade(z, z), FLAT)
    t = math.tan(math.radians(30))
    # zx, zy: rise per metre to the right and downwards; a face looks the way it falls
    facing_nw = hillshade(np.full((3, 3), t, np.float32), np.full((3, 3), t, np.float32))
    facing_se = hillshade(np.full((3, 3), -t, np.float32), np.full((3, 3), -t, np.float32))
    facing_ne = hillshade(np.full((3, 3), -t, np.float32), np.full((3, 3), t, np.float32))
    assert facing_nw.min() > FLAT > facing_se.max()
    assert facing_se.max() < facing_ne.min()  # the face turned from the light is the darkest, yet never black
    assert facing_se.min() > 0.05


def test_cli_render_terrain_records_the_relief_source(terrain_env, hike, tmp_path, capsys):
    from app.cli import main
    from app.export.png import read_metadata

    out = tmp_path / "hike.png"
    assert main(["render", str(hike[0]), "--terrain", "--style", "ink", "--size", "480x360", "-o", str(out)]) == 0
    meta = read_metadata(out)
    assert meta["relief"]["source"] == terrain_env.template
    assert meta["relief"]["attribution"] == TERRAIN_ATTRIBUTION and meta["relief"]["fetched"]
    assert "warning" not in capsys.readouterr().err
