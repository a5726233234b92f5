"""A picture that shows almost nothing is never written silently: a warning line, from render() and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import InputError
from app.jobs.render import MIN_COVER, RenderRequest, covered_share, render
from app.mapdata.model import Kind

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
SIZE = (480, 360)


def write_sparse_extract(path: Path) -> Path:
    """An OSM extract whose declared bounds (~15 × 22 km) hold one house and one café: a tiny feature on a
    large extent, as a clipped download of an almost empty area gives."""
    lon, lat = 8.5400, 47.3700
    d = 0.0002  # ~15 m
    nodes = [(1, lon, lat), (2, lon + d, lat), (3, lon + d, lat + d), (4, lon, lat + d)]
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="mapbrush-tests">',
           '  <bounds minlon="8.45" minlat="47.30" maxlon="8.65" maxlat="47.44"/>']  # fmt: skip
    xml += [f'  <node id="{i}" version="1" lat="{y}" lon="{x}"/>' for i, x, y in nodes]
    xml.append(f'  <node id="9" version="1" lat="{lat - 0.01}" lon="{lon + 0.02}">'
               '<tag k="amenity" v="cafe"/><tag k="name" v="Waldcafé"/></node>')  # fmt: skip
    xml.append('  <way id="10" version="1">' + "".join(f'<nd ref="{i}"/>' for i in (1, 2, 3, 4, 1))
               + '<tag k="building" v="house"/></way>')  # fmt: skip
    xml.append("</osm>")
    path.write_text("\n".join(xml) + "\n", encoding="utf-8")
    return path


def _req(inputs, **kw) -> RenderRequest:
    return RenderRequest([Path(p) for p in inputs], style="watercolor", size=SIZE, seed=2, **kw)


def test_a_tiny_feature_on_a_large_extent_warns(tmp_path):
    res = render(_req([write_sparse_extract(tmp_path / "sparse.osm")]))
    share = covered_share(res.layers.masks, SIZE)
    assert 0 < share < MIN_COVER  # the house and the café are there, and tiny
    (w,) = [w for w in res.warnings if "of the picture" in w]
    assert w == f"the data covers only {share:.1%} of the picture: the map is mostly empty"


def test_layers_that_leave_only_place_names_warn():
    town = EXAMPLES / "harbour_town.geojson"
    res = render(_req([town], kinds=frozenset({Kind.PLACE})))
    (w,) = [w for w in res.warnings if "of the picture" in w]
    assert w.startswith("the data covers only ") and "(the chosen layers leave out 2,273 of 2,284 features)" in w


def test_layers_that_leave_out_everything_are_an_error_naming_what_is_there(tmp_path):
    hike = EXAMPLES / "harbour_hike.gpx"
    with pytest.raises(InputError) as exc:
        render(_req([hike], kinds=frozenset({Kind.RAIL, Kind.WATER})))
    assert str(exc.value.one_line()).endswith(
        "there is nothing to draw: the chosen layers leave out all 5 features (the data has track, poi)"
    )


def test_full_maps_do_not_warn(tmp_path):
    """No false alarms: a town with its hike, and a lone GPX track (thin, but across the page)."""
    for inputs in ([EXAMPLES / "harbour_town.geojson", EXAMPLES / "harbour_hike.gpx"], [EXAMPLES / "harbour_hike.gpx"]):
        res = render(_req(inputs))
        assert not [w for w in res.warnings if "picture" in w or "far apart" in w], res.warnings
        assert covered_share(res.layers.masks, SIZE) >= MIN_COVER


def test_cli_prints_the_coverage_warning(tmp_path):
    path = write_sparse_extract(tmp_path / "sparse.osm")
    proc = subprocess.run([sys.executable, "-m", "app", "render", str(path), "--size", "400x300", "-o", "out.png"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "mapbrush: warning: the data covers only " in proc.stderr and (tmp_path / "out.png").is_file()
