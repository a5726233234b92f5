"""The window end to end (offscreen): load, re-render, framing, errors, export, restore."""

import numpy as np


def test_empty_window_shows_the_drop_zone(window):
    assert window.map_panel.drop_zone.isVisible()
    assert "Drop GeoJSON, GPX, KML/KMZ, Shapefile or OSM files here" in window.map_panel.drop_zone.text()
    assert not window.export_button.isEnabled()


def test_dropping_files_layers_them_and_shows_the_sketch(qtbot, window, load_map, town, hike):
    load_map(window, [town, hike])
    files = window.session.files
    assert [f.path.name for f in files] == [town.name, hike.name]
    assert window.map_panel.files.count() == 2 and not window.map_panel.drop_zone.isVisible()
    assert "features" in window.map_panel.files.item(0).text()
    img = window.preview.shown_image()
    assert img is not None and img.shape == (768, 1024, 3) and img.std() > 5
    assert window.preview.view.isVisible() and window.export_button.isEnabled()
    assert "Salthaven" in window.windowTitle()
    # thumbnails of the person's own map arrive in the background
    qtbot.waitUntil(lambda: all(not c.icon().isNull() for c in window.style_panel.cards.values()), timeout=60000)


def test_switching_style_re_renders(qtbot, window, load_map, town):
    load_map(window, [town])
    before = window.preview.shown_image().copy()
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.style_panel.cards["noir"].click()
    assert window.session.sketch.metadata["style"] == "noir"
    after = window.preview.shown_image()
    assert after.mean() < before.mean() - 30  # noir is dark


def test_changing_framing_re_renders_with_the_new_aspect(qtbot, window, load_map, town):
    load_map(window, [town])
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.map_panel.aspect.setCurrentText("Square")
    assert window.preview.shown_image().shape[:2] == (1024, 1024)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.map_panel.layer_boxes["buildings"].setChecked(False)
    assert "building" not in window.session.sketch.metadata["kinds"]


def test_quick_edits_are_debounced_and_stale_renders_superseded(qtbot, window, load_map, town):
    load_map(window, [town])
    shown = []
    window.sketch_shown.connect(lambda: shown.append(window.session.sketch.metadata["rotation"]))
    for angle in (5, 10, 15, 20):
        window.map_panel.rotation.setValue(angle)
        qtbot.wait(40)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == 20.0, timeout=30000)
    qtbot.wait(300)
    assert shown == [20.0]  # the intermediate angles never reached the screen


def test_a_broken_file_says_so_and_keeps_the_map(qtbot, window, load_map, drop, town, tmp_path):
    load_map(window, [town])
    shown = window.preview.shown_image().copy()
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [ {"type": ')
    drop(window, [bad])
    qtbot.waitUntil(lambda: window.messages.isVisible(), timeout=10000)
    assert "broken.geojson" in window.messages.message()
    assert "Traceback" not in window.messages.message()
    assert [f.path.name for f in window.session.files] == [town.name]
    assert np.array_equal(window.preview.shown_image(), shown)


def test_export_writes_a_png_with_metadata_and_dropping_it_restores_settings(qtbot, window, load_map, drop, town,
                                                                            tmp_path):  # fmt: skip
    from app.export.png import read_metadata

    load_map(window, [town])
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.style_panel.cards["ink"].click()
    window.map_panel.rotation.setValue(12)
    window.map_panel.margin.setValue(10)
    window.map_panel.subtitle.setText("A walk by the sea")
    window.map_panel.subtitle.editingFinished.emit()
    window.style_panel.seed.setText("12345")
    window.style_panel.seed.editingFinished.emit()
    window.map_panel.layer_boxes["rail"].setChecked(False)
    out = tmp_path / "salthaven-ink.png"
    with qtbot.waitSignal(window.session.exported, timeout=60000):
        window.session.export(out, (640, 480), dpi=150.0)
    meta = read_metadata(out)
    assert meta["style"] == "ink" and meta["seed"] == 12345 and meta["size"] == [640, 480]
    assert meta["rotation"] == 12.0 and meta["subtitle"] == "A walk by the sea" and "rail" not in meta["kinds"]

    # reset the window to other settings, then drop the PNG
    window.style_panel.cards["noir"].click()
    window.map_panel.rotation.setValue(0)
    window.map_panel.layer_boxes["rail"].setChecked(True)
    window.style_panel.lock.setChecked(False)
    drop(window, [out])
    c = window.session.composition
    assert (c.style, c.rotation, c.margin, c.seed, c.seed_locked) == ("ink", 12.0, 0.10, 12345, True)
    assert c.subtitle == "A walk by the sea" and "rail" in c.hidden and c.aspect == "4:3"
    assert window.style_panel.cards["ink"].isChecked() and not window.map_panel.layer_boxes["rail"].isChecked()
    assert "Restored" in window.messages.message()


def test_dropping_a_png_without_our_metadata_says_so(qtbot, window, drop, tmp_path):
    from PIL import Image

    png = tmp_path / "holiday.png"
    Image.new("RGB", (8, 8)).save(png)
    drop(window, [png])
    assert "holiday.png" in window.messages.message() and "no MapBrush settings" in window.messages.message()


def test_missing_model_disables_the_ai_buttons_with_the_reason(qtbot, window, load_map, town):
    load_map(window, [town])
    with qtbot.waitSignal(window.session.engine_status, timeout=120000):
        window.session.probe()
    for button in (window.preview_button, window.final_button):
        assert not button.isEnabled()
        assert "not installed" in button.text()
        assert "mapbrush models download" in button.toolTip()
    assert window.models_button.isVisible()
    assert "Download…" in window.engine_status.model.text()


def test_the_gui_thread_never_stalls_while_rendering(qtbot, window, load_map, town, gap_meter):
    """While renders run in the pool, the event loop keeps turning: no gap over 50 ms."""
    load_map(window, [town])
    qtbot.waitUntil(lambda: not window.session.lanes.running(), timeout=60000)  # thumbnails done

    aspects = iter(["16:9", "3:2"])  # each try changes the framing, so each renders

    def reframe():
        with qtbot.waitSignal(window.sketch_shown, timeout=30000):
            window.map_panel.aspect.setCurrentText(next(aspects))
        qtbot.waitUntil(lambda: not window.session.lanes.running(), timeout=60000)

    gap_meter.twice(reframe).assert_no_stall()


def test_run_saves_a_screenshot(town, tmp_path):
    """`run(files, screenshot=...)` in its own process, as `mapbrush gui --screenshot` runs it."""
    import os
    import subprocess
    import sys

    from PIL import Image

    shot = tmp_path / "shot.png"
    code = f"import sys; from app.ui.app import run; sys.exit(run([{str(town)!r}], screenshot={str(shot)!r}))"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.width >= 800 and im.height >= 500
        assert np.asarray(im.convert("RGB")).std() > 10


def test_the_prompt_is_editable_and_reaches_the_ai_request(qtbot):
    from app.paths import user_styles_dir
    from app.styles.catalog import load_styles
    from app.ui.composition import Composition
    from app.ui.style_panel import StylePanel

    panel = StylePanel(load_styles(user_styles_dir()))
    qtbot.addWidget(panel)
    panel.set_place("Salthaven")
    panel._pick("ink")
    shown = panel.prompt.toPlainText()
    assert "Salthaven" in shown and not panel.prompt_reset.isEnabled()
    assert panel.read(Composition()).ai_options().prompt is None  # untouched → the style's own template

    panel.prompt.setPlainText("a moonlit map of {place}, silver ink")
    c = panel.read(Composition())
    assert c.prompt == "a moonlit map of {place}, silver ink"
    assert c.ai_options().prompt == "a moonlit map of {place}, silver ink"
    panel._pick("watercolor")  # a custom prompt survives a style change
    assert panel.prompt.toPlainText().startswith("a moonlit map")

    panel.prompt_reset.click()
    assert "watercolor" in panel.prompt.toPlainText().lower() and panel.read(Composition()).prompt == ""
