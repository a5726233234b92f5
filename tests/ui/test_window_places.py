"""The window's "Find a place" box against loopback Nominatim and Overpass servers (tests/ui/osm_servers.py): a search
on Enter (never per keystroke) lists name, type and country; picking a place fetches its OpenStreetMap data, loads
it as a layer and paints it; Cancel stops a download; no network or an unknown place is one line in the message
bar while the map stays; surroundings of the files open; saving what was fetched. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.ui.osm_servers import PLACES, Servers, closed_port


@pytest.fixture
def servers(monkeypatch, tmp_path):
    srv = Servers()
    monkeypatch.setenv("MAPBRUSH_NOMINATIM_URL", srv.nominatim_url)
    monkeypatch.setenv("MAPBRUSH_OVERPASS_URL", srv.overpass_url)
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MAPBRUSH_HTTP_TIMEOUT", "5")
    yield srv
    srv.close()


@pytest.fixture
def slow_servers(servers):
    servers.slow = True
    return servers


def _search(qtbot, window, text: str) -> None:
    from PySide6.QtCore import Qt

    panel = window.place_panel
    panel.query.clear()
    qtbot.keyClicks(panel.query, text)
    qtbot.keyClick(panel.query, Qt.Key.Key_Return)


def _results(panel) -> list[str]:
    return [panel.results.item(i).text() for i in range(panel.results.count())]


def test_typing_asks_nothing_and_enter_searches_once(qtbot, window, servers):
    from PySide6.QtCore import Qt

    panel = window.place_panel
    qtbot.keyClicks(panel.query, "Brezovica")
    qtbot.wait(400)
    assert servers.searches() == []  # no request per keystroke
    qtbot.keyClick(panel.query, Qt.Key.Key_Return)
    qtbot.keyClick(panel.query, Qt.Key.Key_Return)  # a double Enter is one search
    qtbot.waitUntil(lambda: panel.results.count() == 2, timeout=10000)
    assert _results(panel) == ["Brezovica pod Vrhom, village, Slovenia", "Brezovica Harbour, town, Norway"]
    assert panel.results.isVisible()
    qtbot.wait(300)
    hits = servers.searches()
    assert len(hits) == 1
    assert hits[0].query["q"] == ["Brezovica"] and hits[0].query["format"] == ["jsonv2"]
    assert hits[0].user_agent.startswith("MapBrush/")


def test_two_searches_are_a_second_apart(qtbot, window, servers):
    panel = window.place_panel
    _search(qtbot, window, "Brezovica pod")
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=10000)
    _search(qtbot, window, "Brezovica Harbour")
    qtbot.waitUntil(lambda: _results(panel) == ["Brezovica Harbour, town, Norway"], timeout=10000)
    a, b = servers.searches()
    assert b.at - a.at >= 0.95  # Nominatim's usage policy: at most one request a second


def test_picking_a_place_loads_a_layer_and_paints_it(qtbot, window, servers):
    panel = window.place_panel
    panel.radius.setValue(1.5)
    _search(qtbot, window, "Brezovica pod")
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=10000)
    labels: list[str] = []
    window.session.job_started.connect(lambda job, what: job.progress.connect(lambda ev: labels.append(ev.message)))
    with qtbot.waitSignal(window.sketch_shown, timeout=60000):
        panel.results.itemClicked.emit(panel.results.item(0))
    (query,) = servers.interpreter()
    assert "[out:xml]" in query.body and "[timeout:" in query.body and "[maxsize:" in query.body
    (f,) = window.session.files
    assert f.label == "Brezovica pod Vrhom (1.5 km around)"
    src = f.data.sources[0]
    assert src.format == "osm-xml" and len(f.data) > 50
    assert src.fetched["request"]["place"] == "Brezovica pod" and src.fetched["request"]["radius_m"] == 1500
    # The box asked for is the radius around the place, in the picture's shape: 3 km tall.
    w, s, e, n = f.data.extent
    assert abs((n - s) * 111.32 - 3.0) < 0.05
    assert abs((w + e) / 2 - float(PLACES[0]["lon"])) < 1e-6 and abs((s + n) / 2 - float(PLACES[0]["lat"])) < 1e-6
    # Progress in bytes, then features.
    assert any("received" in m for m in labels) and any("features" in m for m in labels)
    shown = window.map_panel.files.item(0).text()
    assert shown.startswith("Brezovica pod Vrhom (1.5 km around)") and "features (osm-xml)" in shown
    sketch = window.session.sketch
    assert sketch.metadata["attribution"] == ["© OpenStreetMap contributors"]
    (rec,) = sketch.metadata["sources"]  # what was fetched, of whom, when: in the picture's metadata
    assert rec["name"] == "OpenStreetMap (Brezovica pod Vrhom)" and rec["fetched"] and rec["license"] == "ODbL-1.0"
    assert sketch.metadata["inputs"][0]["name"] == "OpenStreetMap (Brezovica pod Vrhom)"  # not the cache's hash
    assert sketch.image.std() > 10  # a painted map, not blank paper
    # Picking it again is a cache hit: no second request.
    with qtbot.waitSignal(window.sketch_shown, timeout=60000):
        panel.results.itemClicked.emit(panel.results.item(0))
    assert len(servers.interpreter()) == 1
    assert len(window.session.files) == 1  # the same layer, not a second one


def test_cancel_stops_the_download_and_keeps_the_map(qtbot, window, slow_servers, town, load_map, tmp_path):
    load_map(window, [town])
    before = list(window.session.files)
    panel = window.place_panel
    _search(qtbot, window, "Brezovica pod")
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=10000)
    panel.results.itemClicked.emit(panel.results.item(0))
    qtbot.waitUntil(lambda: "received" in window.progress_panel.label.text(), timeout=10000)
    job = window.session.lanes.current("fetch-place")
    assert job is not None
    t0 = time.monotonic()
    with qtbot.waitSignal(job.finished, timeout=3000):
        window.progress_panel.cancel.click()
    assert job.state == "cancelled" and time.monotonic() - t0 < 1.0
    qtbot.wait(200)
    assert window.session.files == before  # no layer came, the map stays
    assert window.preview.images.get("sketch") is not None
    assert not list((tmp_path / "cache").rglob("*.osm"))  # nothing half-written in the cache
    assert not window.messages.isVisible() or window.messages.level != "error"  # a cancel is not an error


def test_no_network_is_one_line_and_the_map_stays(qtbot, window, monkeypatch, tmp_path, town, load_map):
    from PySide6.QtWidgets import QApplication, QMessageBox

    monkeypatch.setenv("MAPBRUSH_NOMINATIM_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(tmp_path / "cache"))
    load_map(window, [town])
    _search(qtbot, window, "Brezovica")
    qtbot.waitUntil(lambda: window.messages.isVisible() and window.messages.level == "error", timeout=15000)
    text = window.messages.message()
    assert text.startswith("Place search failed:") and "cannot reach the server (connection refused" in text
    assert "\n" not in text and "Traceback" not in text
    assert not any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets())
    assert [f.path for f in window.session.files] == [town]
    assert window.preview.images.get("sketch") is not None


def test_an_unknown_place_says_so(qtbot, window, servers):
    _search(qtbot, window, "Xyzzyville")
    qtbot.waitUntil(lambda: window.messages.isVisible(), timeout=10000)
    assert window.messages.message() == "No place called 'Xyzzyville' was found (OpenStreetMap Nominatim)"
    assert window.place_panel.results.count() == 0 and not window.place_panel.results.isVisible()
    assert window.session.files == []


def test_surroundings_of_a_hike(qtbot, window, servers, hike, load_map):
    panel = window.place_panel
    assert not panel.surroundings.isEnabled()  # nothing open yet
    load_map(window, [hike])
    assert panel.surroundings.isEnabled()
    own = window.session.files[0].data.bounds()
    with qtbot.waitSignal(window.sketch_shown, timeout=60000):
        panel.surroundings.setChecked(True)
    assert len(servers.interpreter()) == 1
    assert len(window.session.files) == 2
    fetched, mine = window.session.files  # the surroundings under the hike: it draws on top
    assert mine.path == hike
    assert fetched.label.startswith("surroundings of harbour_hike.gpx (2 km)")
    assert fetched.data.sources[0].fetched["request"]["context"] == ["harbour_hike.gpx"]
    w, s, e, n = fetched.data.extent
    km = 111.32
    pads = [(own[1] - s) * km, (n - own[3]) * km]  # the hike's bounds padded by the radius…
    pads += [(own[0] - w) * km * 0.515, (e - own[2]) * km * 0.515]  # (cos 59°)
    assert min(pads) > 1.98 and abs((e - w) * km * 0.515 / ((n - s) * km) - 4 / 3) < 0.02  # …in the picture's shape
    assert window.session.sketch.metadata["attribution"] == ["© OpenStreetMap contributors"]
    with qtbot.waitSignal(window.sketch_shown, timeout=60000):
        panel.surroundings.setChecked(False)
    assert [f.path for f in window.session.files] == [hike]
    assert window.session.sketch.metadata["attribution"] == []


def test_a_failed_surroundings_fetch_keeps_the_files(qtbot, window, monkeypatch, hike, load_map, tmp_path):
    monkeypatch.setenv("MAPBRUSH_OVERPASS_URL", f"http://127.0.0.1:{closed_port()}/api/interpreter")
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(tmp_path / "cache"))
    load_map(window, [hike])
    window.place_panel.surroundings.setChecked(True)
    qtbot.waitUntil(lambda: window.messages.isVisible() and window.messages.level == "error", timeout=15000)
    assert window.messages.message().startswith("Could not fetch the surroundings:")
    assert not window.place_panel.surroundings.isChecked()
    assert [f.path for f in window.session.files] == [hike]


def test_save_fetched_data(qtbot, window, servers, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    panel = window.place_panel
    window.save_fetched_action.trigger()  # nothing fetched yet: says so
    assert "Nothing has been fetched yet" in window.messages.message()
    _search(qtbot, window, "Brezovica Harbour")
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=10000)
    with qtbot.waitSignal(window.sketch_shown, timeout=60000):
        panel.results.itemClicked.emit(panel.results.item(0))
    out = tmp_path / "saved" / "harbour.osm"
    out.parent.mkdir()
    asked = []

    def save_name(parent, caption, name, filters):
        asked.append(Path(name).name)
        return str(out), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    window.save_fetched_action.trigger()
    qtbot.waitUntil(lambda: out.exists() and "Saved" in window.messages.message(), timeout=10000)
    assert asked == ["Brezovica Harbour 2 km around.osm"]
    assert out.read_bytes() == window.session.files[0].path.read_bytes()
    assert not list(out.parent.glob("*.part"))


def test_relief_toggle_asks_for_terrain(qtbot, window):
    panel = window.place_panel
    assert panel.relief.isEnabled()
    panel.relief.setChecked(True)
    assert window.session.composition.terrain is True
    assert window.session.composition.request([]).terrain is True
    panel.relief.setChecked(False)
    assert window.session.composition.request([]).terrain is False


def test_the_window_stays_responsive_while_fetching(qtbot, window, slow_servers, gap_meter):
    """The download runs on a worker: the event loop keeps turning while bytes arrive (progress ~10 a second)."""
    panel = window.place_panel
    _search(qtbot, window, "Brezovica pod")
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=10000)
    panel.results.itemClicked.emit(panel.results.item(0))
    qtbot.waitUntil(lambda: "received" in window.progress_panel.label.text(), timeout=10000)
    job = window.session.lanes.current("fetch-place")
    meter = gap_meter.twice(lambda: qtbot.wait(1200))
    assert job.state == "running"  # still downloading all the while
    meter.assert_no_stall(0.1)
    with qtbot.waitSignal(job.finished, timeout=3000):
        job.cancel()
