"""The window's title and subtitle: default, none or the person's own, through a PNG and back."""

import pytest

from app.export.png import read_metadata
from app.jobs.render import RenderRequest, render_to_file
from app.ui.composition import Composition

KW = dict(style="ink", size=(320, 240), seed=1, labels=False, scale_bar=False, north_arrow=False)


@pytest.mark.parametrize(
    ("subtitle", "mode"),
    [(None, "default"), ("", "none"), ("Summer 2024", "custom")],
)
def test_a_png_restores_the_subtitle_asked_for(tmp_path, town, subtitle, mode):
    out = tmp_path / "a.png"
    render_to_file(RenderRequest([town], subtitle=subtitle, **KW), out)
    meta = read_metadata(out)
    assert meta["subtitle_mode"] == mode and meta["title_mode"] == "default"
    drawn = meta["subtitle"]
    assert (drawn is None) == (mode == "none")  # the default draws the centre's coordinates
    c = Composition.from_metadata(meta)
    assert c.request([town]).subtitle == subtitle  # default stays default, none stays none
    assert c.show_subtitle == (mode != "none") and c.subtitle == (subtitle or "")
    assert c.show_title and c.title == ""  # the data's own title, not its text pinned


def test_a_png_restores_a_title_turned_off_or_written(tmp_path, town):
    out = tmp_path / "a.png"
    render_to_file(RenderRequest([town], title="", **KW), out)
    c = Composition.from_metadata(read_metadata(out))
    assert not c.show_title and c.request([town]).title == ""
    render_to_file(RenderRequest([town], title="Salthaven Harbour", **KW), out)
    c = Composition.from_metadata(read_metadata(out))
    assert c.show_title and c.request([town]).title == "Salthaven Harbour"


def test_older_pngs_without_the_modes_restore_what_was_drawn():
    # a subtitle drawn: kept as the person's own text
    c = Composition.from_metadata({"title": "Salthaven", "subtitle": "54.10° N · 3.20° W"})
    assert c.show_subtitle and c.subtitle == "54.10° N · 3.20° W" and c.title == "Salthaven"
    # a title with nothing under it: the subtitle was off (a default would have drawn one)
    for none in (None, ""):
        c = Composition.from_metadata({"title": "Salthaven", "subtitle": none})
        assert not c.show_subtitle and c.request([]).subtitle == ""
    # no title: a missing subtitle says nothing, the subtitle stays on (default)
    c = Composition.from_metadata({"title": None, "subtitle": None})
    assert not c.show_title and c.show_subtitle and c.request([]).subtitle is None


def test_turning_the_subtitle_off_in_the_window_and_restoring_it(qtbot, window, load_map, drop, town, tmp_path):
    load_map(window, [town])
    assert window.session.sketch.metadata["subtitle"]  # the default: the centre's coordinates
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.map_panel.show_subtitle.setChecked(False)
    assert window.session.sketch.metadata["subtitle"] is None and window.session.sketch.metadata["title"]
    out = tmp_path / "no-subtitle.png"
    with qtbot.waitSignal(window.session.exported, timeout=60000):
        window.session.export(out, (320, 240))
    window.map_panel.show_subtitle.setChecked(True)
    drop(window, [out])
    assert not window.map_panel.show_subtitle.isChecked() and window.map_panel.subtitle.text() == ""
    assert window.session.composition.request([town]).subtitle == ""


def test_the_empty_fields_show_the_title_and_subtitle_the_sketch_drew(qtbot, window, load_map, town, hike,
                                                                      monkeypatch):  # fmt: skip
    import threading

    import app.mapdata.titles as titles

    on_gui = []
    real = titles.describe

    def watched(data):
        on_gui.append(threading.current_thread() is threading.main_thread())
        return real(data)

    monkeypatch.setattr(titles, "describe", watched)
    panel = window.map_panel
    load_map(window, [town])
    meta = window.session.sketch.metadata
    assert meta["title"] and "° N · " in meta["subtitle"]
    assert panel.title.placeholderText() == meta["title"] and panel.subtitle.placeholderText() == meta["subtitle"]
    assert on_gui and not any(on_gui)  # the defaults were worked out with the sketch, never on the GUI thread

    # the person's own title: the sketch draws it, the placeholder still says what an empty field gives
    default = meta["title"]
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        panel.title.setText("Our Harbour")
        panel.title.editingFinished.emit()
    assert window.session.sketch.metadata["title"] == "Our Harbour" and panel.title.placeholderText() == default

    # other data, other defaults: a track's length under the track's name
    panel.title.setText("")
    panel.title.editingFinished.emit()
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.session.remove_files([str(town)])
        window.session.add_files([hike])
    meta = window.session.sketch.metadata
    assert " km" in meta["subtitle"] and panel.subtitle.placeholderText() == meta["subtitle"]
    assert panel.title.placeholderText() == meta["title"] != default
