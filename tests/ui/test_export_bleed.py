"""The export dialog's Bleed: millimetres on every side of a paper size, from the same table as `render --bleed`."""

from __future__ import annotations

import pytest

from app.export.paper import bleed_px
from app.ui.export_dialog import ExportDialog


def test_bleed_adds_pixels_on_every_side_of_a_paper_size(window, qtbot):
    window.map_panel.aspect.setCurrentText("A-series portrait")
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.dpi.setCurrentIndex(dialog.dpi.findData(300))
    dialog.preset.setCurrentIndex(dialog.preset.findData("A4"))
    _, (w, h), dpi, _ = dialog.choice()
    assert abs(w - 2480) <= 1 and h == 3508 and dpi == 300  # the framing's 1:√2 on A4 and dialog.bleed.isEnabled()
    dialog.bleed.setValue(3.0)
    _, (bw, bh), bdpi, _ = dialog.choice()
    assert bleed_px(3, 300) == 35 == dialog.bleed_px()
    assert (bw, bh) == (w + 70, h + 70) and bdpi == 300
    assert (dialog.width_box.value(), dialog.height_box.value()) == (bw, bh)
    assert "3 mm bleed (35 px)" in dialog.note.text()
    paper = dialog.paper()
    assert paper["paper"] == "A4" and paper["orientation"] == "portrait" and paper["bleed_mm"] == 3
    assert paper["trim_box"] == [35, 35, bw - 35, bh - 35]
    dialog.preset.setCurrentIndex(dialog.preset.findData("screen"))  # no print size: no bleed
    assert not dialog.bleed.isEnabled() and dialog.bleed_px() == 0 and dialog.paper() is None
    assert dialog.choice()[1] == (1448, 2048)


def test_a1_with_bleed_stays_at_300_dpi_under_the_pixel_cap(window, qtbot):
    window.map_panel.aspect.setCurrentText("A-series portrait")
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.dpi.setCurrentIndex(dialog.dpi.findData(300))
    dialog.preset.setCurrentIndex(dialog.preset.findData("A1"))
    dialog.bleed.setValue(5.0)
    _, (w, h), dpi, _ = dialog.choice()
    assert dpi == 300 and dialog.bleed_px() == bleed_px(5, 300) == 59
    assert (w, h) == (7016 + 2 * 59, 9922 + 2 * 59)  # 1:√2 on A1 (594 × 841 mm): as wide as the page


def test_an_export_with_bleed_records_the_paper_and_grows_the_margin(window, town, load_map, tmp_path, qtbot):
    from app.export.png import read_metadata

    window.map_panel.aspect.setCurrentText("A-series portrait")
    load_map(window, [town])
    margin = window.session.composition.request([], size=(100, 100)).margin
    dialog = ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.dpi.setCurrentIndex(dialog.dpi.findData(150))  # A4 at 150 dpi: quick on two cores
    dialog.preset.setCurrentIndex(dialog.preset.findData("A4"))
    dialog.bleed.setValue(3.0)
    dialog.path.setText(str(tmp_path / "a4.png"))
    out, (w, h), dpi, _ = dialog.choice()
    b = bleed_px(3, 150)
    assert b == 18 and dpi == 150
    with qtbot.waitSignal(window.session.exported, timeout=120000):
        dialog.accept()
    meta = read_metadata(out)
    assert meta["size"] == [w, h] and meta["paper"]["paper"] == "A4" and meta["paper"]["bleed_mm"] == 3
    assert meta["paper"]["trim_box"] == [b, b, w - b, h - b]
    assert meta["margin"] * min(w, h) == pytest.approx(margin * (min(w, h) - 2 * b) + b)
