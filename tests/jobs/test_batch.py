"""`mapbrush batch`: one map per file (or folder, or day), a contact sheet, resume, bad files named, exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.export.png import read_metadata
from app.jobs.batch import find_files, plan, run_batch, track_day
from app.jobs.cancel import CancelToken
from app.jobs.render import RenderRequest

SIZE = "320x240"


def town_geojson(path: Path, lon: float, lat: float, name: str) -> Path:
    """A small town: a grid of named streets, a park and a pond around (lon, lat)."""
    d = 0.004
    feats = []
    for i in range(4):
        y = lat - d + i * d * 2 / 3
        feats.append({"type": "Feature", "properties": {"highway": "residential", "name": f"{name} Street {i + 1}"},
                      "geometry": {"type": "LineString", "coordinates": [[lon - d, y], [lon + d, y]]}})  # fmt: skip
        x = lon - d + i * d * 2 / 3
        feats.append({"type": "Feature", "properties": {"highway": "tertiary", "name": f"{name} Road {i + 1}"},
                      "geometry": {"type": "LineString", "coordinates": [[x, lat - d], [x, lat + d]]}})  # fmt: skip
    ring = [[lon - d / 2, lat - d / 2], [lon, lat - d / 2], [lon, lat], [lon - d / 2, lat], [lon - d / 2, lat - d / 2]]
    feats.append({"type": "Feature", "properties": {"leisure": "park", "name": f"{name} Park"},
                  "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    pond = [
        [lon + d / 4, lat + d / 4],
        [lon + d / 2, lat + d / 4],
        [lon + d / 2, lat + d / 2],
        [lon + d / 4, lat + d / 4],
    ]
    feats.append({"type": "Feature", "properties": {"natural": "water"},
                  "geometry": {"type": "Polygon", "coordinates": [pond]}})  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def track_gpx(path: Path, start: str, lon: float, lat: float, name: str = "Morning walk") -> Path:
    """A GPX track of a walk: 40 points with times a minute apart, starting at `start` (ISO 8601)."""
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    pts = []
    for i in range(40):
        a = i / 39 * 2 * np.pi
        x, y = lon + 0.006 * np.cos(a) + 0.0002 * i, lat + 0.004 * np.sin(a)
        when = (t0 + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        pts.append(f'<trkpt lat="{y:.6f}" lon="{x:.6f}"><ele>{20 + 3 * i}</ele><time>{when}</time></trkpt>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><time>2020-01-01T00:00:00Z</time></metadata><trk><name>{name}</name><trkseg>"
        + "".join(pts)
        + "</trkseg></trk></gpx>\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "trip"
    src.mkdir()
    town_geojson(src / "north.geojson", 24.94, 60.17, "North")
    track_gpx(src / "walk.gpx", "2024-05-03T06:10:00Z", 24.95, 60.18)
    (src / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feat', encoding="utf-8")
    (src / "notes.txt").write_text("packing list: boots, map\n", encoding="utf-8")
    (src / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
    return src


def batch(*args) -> int:
    return main(["batch", *map(str, args), "--size", SIZE, "--style", "ink"])


def test_a_folder_with_a_broken_file_makes_the_good_maps_and_names_the_bad_one(folder, tmp_path, capsys):
    out = tmp_path / "maps"
    assert batch(folder, "--out", out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["index.png", "north.png", "walk.png"]
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[1:-1]}
    assert rows == {"broken.geojson": "bad", "north.geojson": "done", "walk.gpx": "done"}  # no notes.txt, no photo
    assert "corrupt" in table and "1 failed" in table.splitlines()[-1]
    for name in ("north", "walk"):
        meta = read_metadata(out / f"{name}.png")
        assert meta["style"] == "ink" and meta["size"] == [320, 240] and len(meta["inputs"]) == 1
        assert meta["batch"]["options"]
    sheet = np.asarray(Image.open(out / "index.png").convert("RGB"))
    assert sheet.shape[1] > 2 * 300 and sheet.shape[0] > 240  # two thumbnails side by side, names under them
    north = np.asarray(Image.open(out / "north.png").convert("RGB")).astype(int)
    left = sheet[16:256, 16:336].astype(int)  # the first thumbnail is the first map (broken.geojson made none)
    assert np.abs(left - north).mean() < 12


def test_all_good_exits_0_and_a_bad_option_is_one_line(tmp_path, capsys):
    town_geojson(tmp_path / "a.geojson", 10.0, 50.0, "A")
    assert batch(tmp_path / "a.geojson", "--out", tmp_path / "maps") == 0
    assert main(["batch", str(tmp_path / "a.geojson"), "--out", str(tmp_path / "m"), "--style", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "m")]) == 2


def test_place_or_bbox_in_a_batch_is_refused_in_one_line(tmp_path, capsys):
    town_geojson(tmp_path / "a.geojson", 10.0, 50.0, "A")
    for extra in (["--place", "Bled"], ["--bbox", "10,50,10.1,50.1"], ["--radius", "1km"]):
        args = ["batch", str(tmp_path / "a.geojson"), "--out", str(tmp_path / "m"), *extra]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and extra[0] in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()  # refused before any work


def test_resume_keeps_finished_maps_and_renders_the_missing_one(folder, tmp_path, capsys):
    out = tmp_path / "maps"
    batch(folder, "--out", out)
    before = (out / "north.png").stat().st_mtime_ns
    (out / "walk.png").unlink()
    assert batch(folder, "--out", out) == 2  # the broken file is still broken
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[-4:-1]}
    assert rows == {"broken.geojson": "bad", "north.geojson": "kept", "walk.gpx": "done"}
    assert (out / "north.png").stat().st_mtime_ns == before and (out / "walk.png").is_file()

    town_geojson(folder / "north.geojson", 24.941, 60.17, "North")  # changed data: drawn again
    batch(folder, "--out", out)
    assert (out / "north.png").stat().st_mtime_ns != before
    before = (out / "north.png").stat().st_mtime_ns
    batch(folder, "--out", out, "--no-labels")  # other options: drawn again
    assert (out / "north.png").stat().st_mtime_ns != before
    assert read_metadata(out / "north.png")["labels"] is False


def test_group_by_folder_makes_one_map_per_folder(tmp_path):
    for sub, lon in (("harbour", 24.9), ("hills", 25.2)):
        (tmp_path / "in" / sub).mkdir(parents=True)
        town_geojson(tmp_path / "in" / sub / "town.geojson", lon, 60.2, sub.title())
        track_gpx(tmp_path / "in" / sub / "walk.gpx", "2024-06-01T08:00:00Z", lon, 60.2)
    out = tmp_path / "maps"
    assert batch(tmp_path / "in", "--out", out, "--group-by", "folder") == 0
    assert sorted(p.name for p in out.iterdir()) == ["harbour.png", "hills.png", "index.png"]
    names = sorted(i["name"] for i in read_metadata(out / "hills.png")["inputs"])
    assert names == ["town.geojson", "walk.gpx"]


def test_group_by_day_groups_tracks_by_their_first_time(tmp_path):
    src = tmp_path / "tracks"
    src.mkdir()
    track_gpx(src / "a.gpx", "2024-05-03T06:00:00Z", 24.9, 60.2)
    track_gpx(src / "b.gpx", "2024-05-03T15:30:00Z", 24.95, 60.21)
    track_gpx(src / "c.gpx", "2024-05-04T07:00:00Z", 25.0, 60.22)
    town_geojson(src / "town.geojson", 24.9, 60.2, "Town")  # not a track: a map of its own
    items = plan(find_files([src]), "day")
    assert [(i.name, sorted(p.name for p in i.inputs)) for i in items] == [
        ("2024-05-03", ["a.gpx", "b.gpx"]), ("2024-05-04", ["c.gpx"]), ("town", ["town.geojson"])]  # fmt: skip
    out = tmp_path / "maps"
    assert batch(src, "--out", out, "--group-by", "day") == 0
    assert len(read_metadata(out / "2024-05-03.png")["inputs"]) == 2


def test_the_day_is_the_tracks_local_day_not_the_files_metadata_time(tmp_path):
    # 23:30 UTC in Tokyo (lon 139.7) is the next morning there; the file's <metadata><time> (2020) is not the track's
    assert track_day(track_gpx(tmp_path / "t.gpx", "2024-05-02T23:30:00Z", 139.7, 35.7)) == date(2024, 5, 3)
    assert track_day(track_gpx(tmp_path / "h.gpx", "2024-05-02T23:30:00Z", 24.9, 60.2)) == date(2024, 5, 3)
    assert track_day(track_gpx(tmp_path / "w.gpx", "2024-05-02T23:30:00Z", -122.4, 37.8)) == date(2024, 5, 2)
    (tmp_path / "x.gpx").write_text('<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"/></trkseg></trk></gpx>')
    assert track_day(tmp_path / "x.gpx") is None  # no time: the track is a map of its own


def test_stop_ends_the_batch_after_the_current_map(folder, tmp_path):
    items = plan(find_files([folder]))
    stop = CancelToken()
    req = RenderRequest(inputs=[], style="ink", size=(320, 240))
    result = run_batch(items, tmp_path / "maps", req, stop=stop, on_outcome=lambda o: stop.cancel())
    assert [o.result for o in result.outcomes] == ["bad", "not run", "not run"]
    assert result.stopped and result.exit_code == 130


def test_one_engines_instance_serves_every_map(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from app.inference.packs import build_all
    from app.jobs.ai import Engines

    packs = build_all(tmp_path / "packs")
    engines = Engines(tmp_path / "models")
    engines.store.import_path(packs["z_image"])
    town_geojson(tmp_path / "a.geojson", 10.0, 50.0, "A")
    town_geojson(tmp_path / "b.geojson", 11.0, 51.0, "B")
    items = plan([tmp_path / "a.geojson", tmp_path / "b.geojson"])
    req = RenderRequest(inputs=[], style="ink", size=(128, 96), engine="preview", seed=1)
    result = run_batch(items, tmp_path / "maps", req, engines=engines)
    assert [o.result for o in result.outcomes] == ["done", "done"]
    assert all(read_metadata(o.output)["engine"] == "preview" for o in result.outcomes)
    assert engines.manager.stats["pipeline_builds"] == 1  # the second map reused the loaded model


def test_ctrl_c_stops_after_the_current_map_with_exit_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    src = tmp_path / "towns"
    src.mkdir()
    for i in range(5):
        town_geojson(src / f"town{i}.geojson", 10.0 + i, 50.0, f"T{i}")
    out = tmp_path / "maps"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "app", "batch", str(src), "--out", str(out), "--size", "800x600"],
                            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    for line in proc.stderr:  # the first map is made: Ctrl-C
        if line.startswith("[1/5]"):
            proc.send_signal(signal.SIGINT)
            break
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "stopping after the current map" in stderr
    assert "not run" in stdout and "stopped before the end" in stdout
    made = sorted(p.name for p in out.glob("town*.png"))
    assert 1 <= len(made) <= 2 and not list(out.glob(".*.part"))  # the map under way was finished, no more
    assert (out / "index.png").is_file()
