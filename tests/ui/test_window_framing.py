"""The window's framing as a new user meets it: Size fields that follow the aspect, a title applied while typing,
choices remembered across runs, a sensible export name, and an export that is the preview at more pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.export.png import read_metadata
from app.jobs.render import MAX_SIDE
from app.settings import Settings
from app.ui.composition import ASPECTS
from app.ui.export_dialog import ExportDialog, suggest_name
from app.ui.main_window import MainWindow
from app.ui.map_panel import TITLE_DEBOUNCE_MS


def sizes(win) -> tuple[int, int]:
    return win.map_panel.custom_w.value(), win.map_panel.custom_h.value()


def test_size_fields_follow_the_aspect(window):
    assert sizes(window) == (2400, 1800)
    window.map_panel.aspect.setCurrentText("3:4")
    assert sizes(window) == (1800, 2400)  # the long side kept, the shape the aspect's
    window.map_panel.aspect.setCurrentText("A-series landscape")
    assert sizes(window) == (2400, 1697)
    window.map_panel.custom_w.setValue(3508)  # the other side follows the one typed
    assert sizes(window) == (3508, 2481)
    window.map_panel.custom_h.setValue(1000)
    assert sizes(window) == (1414, 1000)
    assert window.session.composition.output_size() == (1414, 1000)
    window.map_panel.aspect.setCurrentText("Custom")  # both free: they make the aspect
    window.map_panel.custom_w.setValue(2000)
    assert sizes(window) == (2000, 1000)
    assert window.session.composition.aspect_ratio() == pytest.approx(2.0)


def test_the_preview_takes_the_aspect(window, town, load_map, qtbot):
    load_map(window, [town])
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        window.map_panel.aspect.setCurrentText("2:3")
    h, w = window.session.sketch.image.shape[:2]
    assert w / h == pytest.approx(2 / 3, abs=0.01)


def test_typing_the_title_renders_it_after_a_pause_without_enter(window, town, load_map, qtbot):
    load_map(window, [town])
    before = window.session.sketch
    qtbot.keyClicks(window.map_panel.title, "Salthaven Bay")
    assert window.session.composition.title == ""  # not on every key: it waits for the pause
    assert window.session.sketch is before
    with qtbot.waitSignal(window.sketch_shown, timeout=TITLE_DEBOUNCE_MS + 30000):
        pass
    assert window.session.composition.title == "Salthaven Bay"
    assert window.session.sketch.metadata["title"] == "Salthaven Bay"
    assert window.session.sketch is not before


def test_aspect_layers_size_and_folder_outlive_the_window(qtbot, tmp_path, town, load_map):
    config = tmp_path / "config"
    first = MainWindow(Settings.load(config), config_dir=config, probe=False)
    qtbot.addWidget(first)
    panel = first.map_panel
    panel.aspect.setCurrentText("2:3")
    panel.custom_h.setValue(4500)
    layer = next(iter(panel.layer_boxes))
    panel.layer_boxes[layer].setChecked(False)
    first.settings.export_dir = str(tmp_path)
    first.close()  # saves the settings, as quitting does

    again = MainWindow(Settings.load(config), config_dir=config, probe=False)
    qtbot.addWidget(again)
    try:
        assert again.map_panel.aspect.currentText() == "2:3"
        assert sizes(again) == (3000, 4500)
        assert not again.map_panel.layer_boxes[layer].isChecked()
        assert all(cb.isChecked() for n, cb in again.map_panel.layer_boxes.items() if n != layer)
        c = again.session.composition
        assert (c.aspect, c.output_size(), c.hidden) == ("2:3", (3000, 4500), frozenset({layer}))
        load_map(again, [town])
        dialog = ExportDialog(again)
        assert dialog.path.text().startswith(str(tmp_path))
    finally:
        again.session.shutdown()


@pytest.mark.parametrize(
    ("title", "style", "name"),
    [
        ("Helsinki", "poster", "Helsinki — poster.png"),
        ("  Kranjska   Gora ", "ink", "Kranjska Gora — ink.png"),
        ("Route 66: A/B <test>?", "noir", "Route 66 A B test — noir.png"),
        ("???", "ink", "Map — ink.png"),
        ("", "watercolor", "Map — watercolor.png"),
        (None, "ink", "Map — ink.png"),
        ("CON", "ink", "CON — ink.png"),
        ("x" * 300, "ink", "x" * 110 + " — ink.png"),
    ],
)
def test_suggested_name(title, style, name):
    assert suggest_name(title, style) == name
    assert len(name) <= 120


def test_default_export_name_comes_from_the_title_and_style(window, town, load_map, tmp_path, qtbot):
    load_map(window, [town])
    place = window.session.sketch.metadata["title"]
    assert place
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.path.text().endswith(f"{place} — {window.session.composition.style}.png")
    assert "~" not in dialog.path.text()
    window.settings.export_dir = str(tmp_path)
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        qtbot.keyClicks(window.map_panel.title, "Harbour: old/new")
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.path.text() == str(tmp_path / f"Harbour old new — {window.session.composition.style}.png")


@pytest.mark.parametrize("aspect", ["4:3", "2:3", "A-series portrait", "50×70 cm landscape", "Custom"])
def test_the_dialog_offers_only_the_previews_aspect(window, town, load_map, aspect, qtbot):
    window.map_panel.aspect.setCurrentText(aspect)
    load_map(window, [town])
    ratio = window.session.composition.aspect_ratio()
    h, w = window.session.sketch.image.shape[:2]
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    for dpi in range(dialog.dpi.count()):
        dialog.dpi.setCurrentIndex(dpi)
        for i in range(dialog.preset.count()):
            dialog.preset.setCurrentIndex(i)
            _, (ew, eh), _, _ = dialog.choice()
            assert ew / eh == pytest.approx(ratio, rel=0.005), dialog.preset.currentText()
            assert ew / eh == pytest.approx(w / h, rel=0.005)
            assert max(ew, eh) <= MAX_SIDE


def test_a_24x36_print_at_300_dpi_is_under_the_pixel_cap(window, town, load_map, qtbot):
    window.map_panel.aspect.setCurrentText("2:3")
    load_map(window, [town])
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.preset.setCurrentIndex(dialog.preset.findData("24×36 in"))
    _, size, dpi, _ = dialog.choice()
    assert size == (7200, 10800) and dpi == 300  # A1 and 24×36 in at 300 dpi fit under the 16384 px cap
    assert "300 dpi" in dialog.preset.currentText() and "px a side" not in dialog.note.text()
    dialog.preset.setCurrentIndex(dialog.preset.findData("18×24 in"))
    assert dialog.choice()[1:3] == ((4800, 7200), 300) and "blank paper left and right" in dialog.note.text()


def _grey(img: np.ndarray) -> np.ndarray:
    return img[..., :3].astype(np.float32).mean(axis=2)


def test_export_at_a3_is_the_preview_at_print_size(window, town, load_map, tmp_path, qtbot):
    load_map(window, [town])
    session = window.session
    preview = session.sketch
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.dpi.setCurrentIndex(dialog.dpi.findData(150))  # A3 at 150 dpi: a print size two cores paint quickly
    dialog.preset.setCurrentIndex(dialog.preset.findData("A3"))
    dialog.path.setText(str(tmp_path / "town.png"))
    out, size, dpi, _ = dialog.choice()
    assert size == (2339, 1754) and dpi == 150
    with qtbot.waitSignal(session.exported, timeout=120000):
        dialog.accept()
    assert window.settings.export_dir == str(tmp_path)
    assert (window.settings.export_size, window.settings.export_dpi) == ("A3", 150)

    meta = read_metadata(out)
    assert meta["size"] == [2339, 1754] and meta["dpi"] == 150
    pw, ph = preview.metadata["size"]
    (x0, y0, x1, y1), (a0, b0, a1, b1) = meta["bounds"], preview.metadata["bounds"]
    tol_x, tol_y = 0.002 * (a1 - a0), 0.002 * (b1 - b0)
    assert abs(x0 - a0) < tol_x and abs(x1 - a1) < tol_x and abs(y0 - b0) < tol_y and abs(y1 - b1) < tol_y

    with Image.open(out) as im:
        small = np.asarray(im.convert("RGB").resize((pw, ph), Image.Resampling.LANCZOS))
    a, b = _grey(small), _grey(preview.image)
    assert np.abs(a - b).mean() < 12.0
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.85
    # the same picture shifted by a tenth of its width (a re-framed map) is clearly further away
    shifted = np.roll(b, pw // 10, axis=1)
    assert np.corrcoef(a.ravel(), shifted.ravel())[0, 1] < np.corrcoef(a.ravel(), b.ravel())[0, 1] - 0.1

    # the labels: where the preview has them, the export has them, scaled (title and furniture left out here)
    labels_only = {"title": "", "scale_bar": False, "north_arrow": False}
    assert overlay_iou(session, (pw, ph), size, labels_only) > 0.8, "labels moved or vanished in the export"


def overlay_iou(session, small: tuple[int, int], big: tuple[int, int], options: dict) -> float:
    """How well the overlay pixels of the window's map at `big`, brought down to `small`, match those at `small`."""
    from dataclasses import replace

    from app.jobs.render import overlay_mask

    comp = session.composition
    small_mask = overlay_mask(replace(comp.request(session.inputs, size=small), **options), session.data)
    big_mask = overlay_mask(replace(comp.request(session.inputs, size=big), **options), session.data)
    down = Image.fromarray(big_mask.astype(np.uint8) * 255).resize(small, Image.Resampling.BOX)
    big_down = np.asarray(down) > 96
    return float((small_mask & big_down).sum() / (small_mask | big_down).sum())


def test_export_keeps_the_previews_furniture_in_place(window, town, load_map):
    load_map(window, [town])
    assert overlay_iou(window.session, (1024, 768), (2339, 1754), {"labels": False}) > 0.8


def test_aspects_include_the_print_formats():
    for name in ("2:3", "3:4", "4:5", "50×70 cm portrait"):
        assert name in ASPECTS


def test_paper_sizes_keep_the_aspect_and_say_how_they_sit():
    from app.ui.sizes import export_sizes, on_paper, papers_filled

    wide = on_paper("A4", 16 / 9, 300)
    assert wide.size == (3508, 1973) and wide.dpi == 300 and "29.7 cm × 16.7 cm" in wide.note
    assert "above and below" in wide.note
    a3 = on_paper("A3", 2**-0.5, 300)
    assert a3.size == (3508, 4961) and a3.note == "fills the page"
    assert on_paper("50×70 cm", 5 / 7, 300).size == (5906, 8268)
    big = on_paper("50×70 cm", 5 / 7, 600)  # 11811 × 16535 px would be over the cap
    assert big.size == (11703, 16384) and big.dpi == pytest.approx(16384 / (700 / 25.4), abs=0.01)
    assert "595 dpi" in big.label and "16384 px" in big.note
    assert papers_filled(3 / 4) == ["18×24 in"] and papers_filled(1.5) == ["24×36 in"]
    assert {e.key for e in export_sizes(1.0, (3000, 3000))} >= {"window", "screen", "A4", "24×36 in"}
    assert all(e.size[0] == e.size[1] for e in export_sizes(1.0, (3000, 2000), dpi=150))
