"""Tracks as the subject: start and finish markers on the track's ends (one for a loop), the elevation profile
strip where the track has heights and the style draws one, several tracks in colours of their own with a
legend, waypoint names labelled — and none of that furniture over the tracks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod

from app.jobs.render import RenderRequest, _scene_and_layers, load, render
from app.mapdata.io import read_file
from app.mapdata.model import Kind
from app.render.overlay import finish, layout_overlay
from app.render.tracks import MAX_COLOURED, track_palette
from app.styles.catalog import get_style
from tests.render.track_files import hike_points, write_hike, write_loop, write_two_days

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
SIZE = (800, 600)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tracks")
    return {
        "hike": write_hike(d / "hike.gpx"),
        "flat": write_hike(d / "no_heights.gpx", elevations=False),
        "loop": write_loop(d / "loop.gpx"),
        "two": write_two_days(d / "two_days.gpx"),
    }


def laid_out(inputs, style="watercolor", size=SIZE, **kw):
    """(scene, layers, layout) exactly as render() lays them out."""
    req = RenderRequest([Path(p) for p in inputs], style=style, size=size, **kw)
    st = get_style(style)
    scene, layers, _, _ = _scene_and_layers(req, load(req.inputs), st, {})
    lay = layout_overlay(scene, st.typography, image=layers.structure, layers=layers, profile=req.profile)
    return scene, layers, lay, st


def track_pixels_in(layers, box, level: int = 64) -> int:
    x0, y0, x1, y1 = (round(v) for v in box)
    m = layers.mask(Kind.TRACK)[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
    return int((m > level).sum())


# ----- reading -------------------------------------------------------------------------------------------------
def test_gpx_reader_keeps_a_tracks_heights_along_its_distance(files):
    data = read_file(files["hike"])
    (row,) = np.flatnonzero(data.kinds == Kind.TRACK)
    prof = data.props[row]["_profile"]
    d, e = prof["distance_m"], prof["elevation_m"]
    assert len(d) == len(e) == 500 and np.all(np.diff(d) >= 0) and d[0] == 0
    lon, lat, ele = hike_points()
    assert d[-1] == pytest.approx(Geod(ellps="WGS84").line_length(lon, lat), rel=0.002)
    assert e.min() == pytest.approx(ele.min(), abs=0.1) and e.max() == pytest.approx(ele.max(), abs=0.1)
    assert 950 < data.props[row]["climb_m"] < 1150  # the subtitle's climb is still read from the same points
    flat = read_file(files["flat"])
    assert all("_profile" not in p for p in flat.props)


# ----- markers ----------------------------------------------------------------------------------------------
def test_start_and_finish_markers_sit_on_the_tracks_first_and_last_points(files):
    scene, _, lay, st = laid_out([files["hike"]])
    (i,) = np.flatnonzero([k is Kind.TRACK for k in scene.kinds])
    coords = shapely.get_coordinates(scene.geometries[i])
    marks = {m.role: m for m in lay.tracks.markers}
    assert set(marks) == {"start", "finish"}
    assert np.hypot(marks["start"].x - coords[0, 0], marks["start"].y - coords[0, 1]) < 0.5
    assert np.hypot(marks["finish"].x - coords[-1, 0], marks["finish"].y - coords[-1, 1]) < 0.5
    # In the picture: what finish() draws differs from the same overlay without markers at both ends, and only there.
    sketch = np.full((SIZE[1], SIZE[0], 3), 200, np.uint8)
    with_marks = finish(sketch, scene, st.typography, layout=lay)
    lay.tracks.markers = []
    without = finish(sketch, scene, st.typography, layout=lay)
    changed = np.abs(with_marks.astype(int) - without.astype(int)).sum(axis=2) > 30
    inside = np.zeros_like(changed)
    for m in marks.values():
        x0, y0, x1, y1 = (round(v) for v in m.box)
        near = changed[int(m.y) - 3 : int(m.y) + 4, int(m.x) - 3 : int(m.x) + 4]
        assert near.mean() > 0.5, m.role
        inside[max(y0 - 1, 0) : y1 + 2, max(x0 - 1, 0) : x1 + 2] = True
    assert changed.any() and not (changed & ~inside).any()


def test_a_loop_gets_one_start_finish_marker(files):
    scene, _, lay, _ = laid_out([files["loop"]])
    (m,) = lay.tracks.markers
    assert m.role == "loop"
    (i,) = np.flatnonzero([k is Kind.TRACK for k in scene.kinds])
    first = shapely.get_coordinates(scene.geometries[i])[0]
    assert np.hypot(m.x - first[0], m.y - first[1]) < 0.5


def test_labels_keep_clear_of_the_markers(files):
    _, _, lay, _ = laid_out([files["hike"]])
    for m in lay.tracks.markers:
        mx0, my0, mx1, my1 = m.box
        for boxes in lay.label_boxes:
            text = boxes[0]  # a point label's other box is its dot, which may lie on the way
            assert text[2] <= mx0 or text[0] >= mx1 or text[3] <= my0 or text[1] >= my1


# ----- elevation profile ------------------------------------------------------------------------------------
def test_profile_drawn_only_with_heights_and_in_styles_that_want_one(files):
    assert get_style("watercolor").typography.elevation_profile
    assert not get_style("noir").typography.elevation_profile
    _, _, lay, _ = laid_out([files["hike"]])
    prof = lay.tracks.profile
    assert prof is not None
    (s,) = prof.series
    assert s.elevation_m.max() - s.elevation_m.min() > 1000 and s.color == get_style("watercolor").palette["track"]
    assert laid_out([files["flat"]])[2].tracks.profile is None  # no heights
    assert laid_out([files["hike"]], style="noir")[2].tracks.profile is None  # not in noir
    assert laid_out([files["hike"]], profile=False)[2].tracks.profile is None  # --no-profile


@pytest.mark.parametrize("style", ["watercolor", "poster", "parchment"])
def test_profile_box_covers_no_track_pixels_and_is_drawn(files, style):
    for inputs in ([files["hike"]], [EXAMPLES / "harbour_hike.gpx", EXAMPLES / "harbour_town.geojson"]):
        scene, layers, lay, st = laid_out(inputs, style=style)
        prof = lay.tracks.profile
        assert prof is not None, inputs
        assert track_pixels_in(layers, prof.box) == 0, (style, inputs[0].name)
        x0, y0, x1, y1 = (round(v) for v in prof.box)
        assert 0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1]
        for other in lay.furniture_boxes:
            if other is not prof.box and other != prof.box:
                ox0, oy0, ox1, oy1 = other
                assert ox1 <= x0 or ox0 >= x1 or oy1 <= y0 or oy0 >= y1, "the profile overlaps other furniture"
    sketch = np.full((SIZE[1], SIZE[0], 3), 128, np.uint8)
    out = finish(sketch, scene, st.typography, layout=lay)
    strip = out[y0:y1, x0:x1].astype(int)
    assert np.abs(strip - 128).sum(axis=2).mean() > 40  # the strip's plate and chart are on the picture


# ----- several tracks ---------------------------------------------------------------------------------------
def test_two_tracks_are_painted_in_different_colours_with_a_legend(files):
    res = render(RenderRequest([files["two"]], style="watercolor", size=SIZE))
    layers, image = res.layers, res.sketch.astype(int)
    ids, mask = layers.track_ids, layers.mask(Kind.TRACK)
    assert ids is not None and set(np.unique(ids).tolist()) == {0, 1, 2}
    colours = [image[(ids == k) & (mask > 230)].mean(axis=0) for k in (1, 2)]
    assert np.abs(colours[0] - colours[1]).max() > 50, colours
    wanted = get_style("watercolor").typography.track_colors[:2]
    for got, hexc in zip(colours, wanted):  # each painted near its own colour (glazed over the paper)
        target = np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)])
        other = np.array([int(c[i : i + 2], 16) for c in wanted if c != hexc for i in (1, 3, 5)])
        assert np.abs(got - target).sum() < np.abs(got - other).sum()
    _, layers2, lay, _ = laid_out([files["two"]])
    legend = lay.tracks.legend
    assert legend is not None
    assert [name for name, _ in legend.entries] == ["Day 1: along the Bistrica", "Day 2: over Prevala"]
    assert [c for _, c in legend.entries] == list(wanted)
    assert track_pixels_in(layers2, legend.box) == 0
    assert len(lay.tracks.markers) == 4  # each day its start and finish


def test_one_track_keeps_the_styles_track_colour(files):
    _, layers, lay, _ = laid_out([files["hike"]])
    assert layers.track_ids is None and lay.tracks.legend is None


def test_track_palette_gives_distinct_colours_and_honours_the_style():
    pal = get_style("parchment").palette
    colours = track_palette(pal)
    assert len(colours) == MAX_COLOURED == len(set(colours)) and colours[0] == pal["track"]
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours])
    gaps = np.abs(rgb[:, None, :] - rgb[None, :, :]).sum(axis=2) + np.eye(len(rgb), dtype=int) * 999
    assert gaps.min() > 60
    assert track_palette({**pal, "track2": "#123456"})[1] == "#123456"


def test_a_style_file_sets_track_colours_in_its_palette(tmp_path):
    text = (ROOT / "resources" / "styles" / "ink.toml").read_text(encoding="utf-8")
    (tmp_path / "mine.toml").write_text(
        text.replace('name = "ink"', 'name = "mine"').replace("[palette]", '[palette]\ntrack2 = "#2266aa"'),
        encoding="utf-8",
    )
    assert get_style("mine", tmp_path).typography.track_colors[1] == "#2266aa"


# ----- waypoints --------------------------------------------------------------------------------------------
def test_named_waypoints_are_labelled(files):
    _, _, lay, _ = laid_out([files["hike"]])
    assert "Planina Zgornja" in {lab.text for lab in lay.labels}
    _, _, lay, _ = laid_out([EXAMPLES / "harbour_hike.gpx", EXAMPLES / "harbour_town.geojson"], size=(1200, 900))
    texts = {lab.text for lab in lay.labels}
    # Salthaven Station is where the hike sets off and comes back: named beside the start/finish marker.
    assert {"Market Square", "Salthaven Station", "Salthaven Light"} <= texts, texts


# ----- the command line -------------------------------------------------------------------------------------
def test_cli_no_profile(files, tmp_path):
    out = tmp_path / "hike.png"
    args = ["render", files["hike"], "--size", "400x300", "--no-profile", "-o", out, "--json"]
    proc = subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metadata"]["profile"] is False
