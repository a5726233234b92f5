"""The command line with loopback Overpass and Nominatim: --place, --bbox, --context, fetch, cache; failures."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from app.cli import main
from app.export.png import read_metadata
from app.mapdata.io import read_file

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Jasna loop</name><trkseg>
{points}
  </trkseg></trk>
</gpx>
"""


def _gpx(tmp_path):
    ts = np.linspace(0, 6, 40)
    pts = [(13.772 + 0.012 * np.cos(t), 46.480 + 0.004 * np.sin(t), 810 + 40 * np.sin(t)) for t in ts]
    body = "\n".join(f'    <trkpt lat="{la:.6f}" lon="{lo:.6f}"><ele>{el:.1f}</ele></trkpt>' for lo, la, el in pts)
    path = tmp_path / "hike.gpx"
    path.write_text(GPX.format(points=body))
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


SMALL = ["--size", "480x360"]


def test_render_a_place(services, tmp_path, capsys):
    out = tmp_path / "kg.png"
    code, _, err = _run(capsys, "render", "--place", "Kranjska Gora, Slovenia", "--style", "fantasy", "-o",
                           str(out), *SMALL)  # fmt: skip
    assert code == 0, err
    meta = read_metadata(out)
    (src,) = meta["sources"]
    assert src["name"] == "OpenStreetMap (Kranjska Gora)" and src["request"]["place"] == "Kranjska Gora, Slovenia"
    assert src["attribution"] == "© OpenStreetMap contributors" and src["fetched"].endswith("Z")
    assert meta["inputs"][0]["name"] == "OpenStreetMap (Kranjska Gora)" and meta["inputs"][0]["format"] == "osm-xml"
    assert meta["title"] == "Kranjska Gora"
    query = services.requests("/api/interpreter")[0].form["data"]
    assert "[out:xml]" in query and "[maxsize:" in query


def test_a_repeat_render_works_offline_and_gives_the_same_map(services, tmp_path, capsys):
    args = ["render", "--place", "Kranjska Gora", "--radius", "1.5km", "--style", "ink", *SMALL]
    assert _run(capsys, *args, "-o", str(tmp_path / "a.png"))[0] == 0
    services.server.stop()
    code, _, err = _run(capsys, *args, "-o", str(tmp_path / "b.png"))
    assert code == 0, err
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert np.array_equal(a, b)


def test_render_a_box(services, tmp_path, capsys):
    out = tmp_path / "area.png"
    code, _, err = _run(capsys, "render", "--bbox", "13.755,46.470,13.805,46.495", "--style", "watercolor", "-o",
                        str(out), *SMALL)  # fmt: skip
    assert code == 0, err
    assert read_metadata(out)["sources"][0]["request"]["bbox"] == [13.755, 46.47, 13.805, 46.495]
    assert not services.requests("/nominatim/search")  # a box needs no geocoding


def test_context_adds_the_landscape_around_a_track(services, tmp_path, capsys):
    gpx = _gpx(tmp_path)
    bare, ctx = tmp_path / "bare.png", tmp_path / "ctx.png"
    assert _run(capsys, "render", str(gpx), "-o", str(bare), *SMALL)[0] == 0
    code, _, err = _run(capsys, "render", str(gpx), "--context", "--radius", "2km", "-o", str(ctx), *SMALL)
    assert code == 0, err
    names = [i["name"] for i in read_metadata(ctx)["inputs"]]
    assert names == ["OpenStreetMap (hike.gpx)", "hike.gpx"]
    a, b = (np.asarray(Image.open(p).convert("L"), float) for p in (bare, ctx))
    assert np.abs(a - b).mean() > 5  # the surroundings are drawn


def test_context_without_network_still_renders_the_files(tmp_path, capsys):
    gpx = _gpx(tmp_path)
    out = tmp_path / "hike.png"
    code, _, err = _run(capsys, "render", str(gpx), "--context", "-o", str(out), *SMALL)
    assert code == 0 and out.exists()
    lines = [ln for ln in err.splitlines() if "surroundings" in ln]
    assert len(lines) == 1 and "cannot reach" in lines[0] and lines[0].startswith("mapbrush: warning:")
    assert read_metadata(out)["sources"] == []


def test_a_place_with_no_network_and_no_cache_is_exit_2_at_once(tmp_path, capsys):
    t0 = time.monotonic()
    code, _, err = _run(capsys, "render", "--place", "Kranjska Gora", "-o", str(tmp_path / "x.png"))
    assert code == 2 and time.monotonic() - t0 < 5
    assert err.count("\n") == 1 and "cannot reach" in err and "Nominatim" in err
    assert not (tmp_path / "x.png").exists()


def test_an_unknown_place_is_exit_2(services, tmp_path, capsys):
    code, _, err = _run(capsys, "render", "--place", "Atlantis", "-o", str(tmp_path / "x.png"))
    assert code == 2
    assert err.strip() == "mapbrush: error: no place called 'Atlantis' was found (OpenStreetMap Nominatim)"


def test_a_remark_fails_the_render_and_is_not_cached(services, tmp_path, capsys):
    from tests.sources.osm_samples import remark_xml

    services.osm = remark_xml()
    code, _, err = _run(capsys, "render", "--bbox", "13.755,46.470,13.805,46.495", "-o", str(tmp_path / "x.png"))
    assert code == 2 and "timed out" in err and err.count("\n") == 1
    code, text, _ = _run(capsys, "cache", "info", "--json")
    assert '"entries": 0' in text


def test_bad_area_arguments_are_one_line(capsys, tmp_path):
    for argv, words in [
        (["--bbox", "13.8,46.45,13.7,46.52"], "west < east"),
        (["--bbox", "1,2,3"], "west,south,east,north"),
        (["--place", "X", "--radius", "far"], "not a distance"),
        (["--place", "X", "--bbox", "13.7,46.45,13.8,46.52"], "not both"),
        (["--context"], "--context"),
        (["--bbox", "0,40,10,50"], "too large"),
    ]:
        code, _, err = _run(capsys, "render", *argv, "-o", str(tmp_path / "x.png"))
        assert code == 2 and words in err and err.count("\n") == 1, (argv, err)


def test_fetch_keeps_the_data_and_cache_info_and_clear(services, tmp_path, capsys):
    out = tmp_path / "vienna.osm"
    code, text, err = _run(capsys, "fetch", "--place", "Kranjska Gora", "-o", str(out))
    assert code == 0, err
    assert "© OpenStreetMap contributors" in text and "ODbL" in text
    assert read_file(out).counts()["building"] == 84  # an ordinary OSM file now
    code, text, _ = _run(capsys, "cache", "info")
    assert code == 0 and "entries   2" in text  # the search and the OSM data
    code, text, _ = _run(capsys, "cache", "clear")
    assert code == 0 and "removed 2 cached entries" in text
    assert "entries   0" in _run(capsys, "cache", "info")[1]
