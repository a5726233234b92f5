"""The window shows what reading and rendering warn about, and offers to frame one group of far-apart data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def write_far_hike(path, lon0=14.2, lat0=50.9):
    """A GPX hike ~1,000 km from the demo town (which lies near 59° N 10° E)."""
    t = np.linspace(0.0, 1.0, 60)
    pts = "".join(f'<trkpt lat="{lat0 + 0.03 * s:.6f}" lon="{lon0 + 0.05 * np.sin(6 * s):.6f}"/>' for s in t)
    path.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                    f"<trk><name>Ridge</name><trkseg>{pts}</trkseg></trk></gpx>")  # fmt: skip
    return path


@pytest.fixture
def far_hike(tmp_path):
    return write_far_hike(tmp_path / "hike.gpx")


def test_a_dropped_feature_is_named_in_the_window(qtbot, window, load_map, tmp_path):
    feats = [
        {"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for n, ring in (
            ("Meadow", [[10.0, 59.0], [10.01, 59.0], [10.01, 59.01], [10.0, 59.0]]),
            ("Atlantis", [[200.5, 30.0], [202.0, 30.0], [202.0, 32.0], [200.5, 30.0]]),
        )
    ]
    path = tmp_path / "isles.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    load_map(window, [path])
    assert window.messages.isVisible() and window.messages.level == "warning"
    assert "isles.geojson: dropped 'Atlantis' (feature 2): longitude 200.5 out of range" in window.messages.message()


def test_far_apart_groups_are_offered_and_one_can_be_framed(qtbot, window, load_map, town, far_hike):
    load_map(window, [town, far_hike])
    bar = window.messages
    assert bar.isVisible() and "The data falls into 2 groups far apart" in bar.message()
    assert "--frame" not in bar.message()  # the CLI's hint; the window has links instead
    assert 'href="frame:1">group 1 (harbour_town.geojson)' in bar.message()
    assert 'href="frame:2">group 2 (hike.gpx)' in bar.message()
    whole = window.session.sketch.scene.frame.lonlat_bounds

    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        bar.text.linkActivated.emit("frame:2")  # what clicking the link does
    w, s, e, n = window.session.sketch.scene.frame.lonlat_bounds
    assert 14.0 < w < e < 14.4 and 50.8 < s < n < 51.0 and (e - w) < (whole[2] - whole[0]) / 20
    assert window.session.composition.frame_group == 2
    assert "Framing group 2 of 2 far apart: hike.gpx near" in bar.message()
    assert 'href="frame:0">all of the data' in bar.message()

    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        bar.text.linkActivated.emit("frame:0")
    assert window.session.sketch.scene.frame.lonlat_bounds == pytest.approx(whole)
    assert "The data falls into 2 groups far apart" in bar.message()


def test_a_dismissed_warning_stays_dismissed_when_only_the_style_changes(qtbot, window, load_map, town, far_hike):
    load_map(window, [town, far_hike])
    assert window.messages.isVisible()
    window.messages.close_button.click()
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.style_panel.cards["ink"].click()
    assert not window.messages.isVisible()


def test_a_clean_map_shows_no_warning(qtbot, window, load_map, town, hike):
    load_map(window, [town, hike])
    assert not window.messages.isVisible()


def test_the_pictures_can_be_hidden_in_the_layers_panel(qtbot, window, load_map, tmp_path):
    from tests.mapdata.kml_samples import village_kml

    load_map(window, [village_kml(tmp_path, rotation=0.0)])
    assert window.session.sketch.scene.rasters  # the scanned map is drawn
    box = window.map_panel.layer_boxes["imagery"]
    assert box.text() == "Imagery" and "GroundOverlay" in box.toolTip()
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        box.setChecked(False)
    assert "imagery" in window.session.composition.hidden
    assert not window.session.sketch.scene.rasters


# ----- a PNG's frame group, restored ----------------------------------------------------------------------------
@pytest.fixture
def framed_png(tmp_path, town):
    """A PNG of the town and a hike far away, framed on the hike (group 2), with copies of both files beside it."""
    import shutil

    from app.jobs.render import RenderRequest, render_to_file

    folder = tmp_path / "export"
    folder.mkdir()
    inputs = [shutil.copy(town, folder), write_far_hike(folder / "hike.gpx")]
    png = folder / "hike-framed.png"
    render_to_file(RenderRequest([Path(p) for p in inputs], size=(320, 240), frame=2), png)
    return png


def _failures(window) -> list[str]:
    failed: list[str] = []
    window.session.job_failed.connect(lambda what, exc: failed.append(f"{what}: {exc}"))
    return failed


def test_a_png_frames_its_group_again_with_its_own_files(qtbot, window, framed_png):
    failed = _failures(window)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.open_paths([framed_png])  # its files are read from beside it
    assert window.session.composition.frame_group == 2
    w, s, e, n = window.session.sketch.scene.frame.lonlat_bounds
    assert 14.0 < w < e < 14.4 and 50.8 < s < n < 51.0  # the hike, as the PNG showed it
    assert not failed


def test_a_png_with_other_files_open_frames_all_of_them(qtbot, window, load_map, framed_png, town, tmp_path):
    other = write_far_hike(tmp_path / "ridge.gpx", lon0=20.0, lat0=45.0)
    load_map(window, [town, other])  # two groups far apart too, but not the PNG's files
    (framed_png.parent / "hike.gpx").unlink()  # and its own hike is gone
    failed = _failures(window)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.open_paths([framed_png])
    assert window.session.composition.frame_group == 0
    assert not failed and "Cannot frame" not in window.messages.message()
    assert "not framing group 2 as the PNG did: the files open are not the ones it was made from" in (
        window.messages.message()
    )


def test_a_png_whose_files_changed_frames_all_of_them(qtbot, window, framed_png):
    write_far_hike(framed_png.parent / "hike.gpx", lon0=10.02, lat0=59.01)  # the hike is now in the town
    failed = _failures(window)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.open_paths([framed_png])
    assert window.session.composition.frame_group == 0 and not window.session.sketch.groups
    assert not failed
    assert "not framing group 2 as the png did" in window.messages.message().lower()  # with the sketch's warnings


def test_a_group_that_is_gone_frames_all_of_the_data(qtbot, window, load_map, town, far_hike):
    load_map(window, [town, far_hike])
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.messages.text.linkActivated.emit("frame:2")
    failed = _failures(window)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.map_panel.layer_boxes["tracks"].setChecked(False)  # no hike drawn: no groups far apart
    assert window.session.composition.frame_group == 0 and not failed
    assert "cannot frame group 2: the data falls into no groups far apart: framing all of the data" in (
        window.messages.message().lower()
    )
