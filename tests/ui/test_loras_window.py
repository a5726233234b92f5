"""The AI panel's style-image drop zone, Models → LoRAs… (import on a worker, attach to the style with a
strength), and a dropped PNG restoring its LoRAs and style image (issue 16)."""

import hashlib

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6")


def _drop_on(widget, paths):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPointF(5, 5).toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    widget.dragEnterEvent(enter)
    if not enter.isAccepted():
        return False
    widget.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))  # fmt: skip
    return True


def _lora(path, prefix="transformer.layers.0.attention.to_q"):
    from safetensors.numpy import save_file

    save_file({f"{prefix}.lora_A.weight": np.ones((2, 8), np.float32),
               f"{prefix}.lora_B.weight": np.zeros((8, 2), np.float32)}, str(path))  # fmt: skip
    return path


@pytest.fixture
def painting(tmp_path):
    art = np.zeros((60, 90, 3), np.uint8)
    art[:, :45] = (200, 60, 30)
    art[:, 45:] = (30, 60, 200)
    Image.fromarray(art).save(tmp_path / "painting.png")
    return tmp_path / "painting.png"


def test_style_image_drop_zone_shows_a_thumbnail_and_clears(qtbot, window, painting, tmp_path):
    box = window.style_panel.style_image
    assert box.thumb.pixmap().isNull() and not box.clear.isEnabled()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    assert not _drop_on(box, [notes])  # refused at the door
    with qtbot.waitSignal(box.changed):
        assert _drop_on(box, [painting])
    thumb = box.thumb.pixmap()
    assert not thumb.isNull() and thumb.width() <= 96 and thumb.height() <= 72
    assert thumb.toImage().pixelColor(5, thumb.height() // 2).red() > 150  # the picture's left half, red
    c = window.session.composition
    assert c.style_image == str(painting) and c.request([]).style_image == painting
    box.clear.click()
    assert window.session.composition.style_image == "" and box.thumb.pixmap().isNull()
    assert window.session.composition.request([]).style_image is None


def test_loras_window_imports_on_a_worker_and_attaches_with_a_strength(qtbot, window, tmp_path, monkeypatch):
    from app.ui.loras_dialog import LorasDialog

    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(tmp_path / "models"))
    dialog = LorasDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.table.rowCount() == 0 and "No LoRAs" in dialog.state.text()
    src = _lora(tmp_path / "ink wash.safetensors")
    job = dialog.import_path(src)
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert dialog.table.rowCount() == 1
    cells = [dialog.table.item(0, c).text() for c in range(5)]
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert cells[:2] == ["ink wash", "Z-Image"] and cells[3] == digest[:16] + "…" and cells[4] == "—"
    assert (tmp_path / "models" / "loras" / "ink_wash.safetensors").is_file()
    dialog.use.setChecked(True)
    dialog.strength.setValue(60)
    style = window.session.composition.style
    assert window.session.composition.style_loras() == [("ink_wash", 0.6, "preview")]
    assert window.settings.style_loras == [f"{style}:ink_wash:0.6:preview"]
    (spec,) = window.session.composition.ai_options().loras
    assert (spec.ref, spec.weight, spec.engine) == ("ink_wash", 0.6, "preview")
    assert dialog.table.item(0, 4).text() == "0.60"
    other = next(n for n in window.style_panel.cards if n != style)
    assert window.session.composition.style_loras(other) == []  # per style
    bad = tmp_path / "style.ckpt"
    bad.write_bytes(b"\x80\x04")
    job = dialog.import_path(bad)
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert "Not imported" in dialog.state.text() and "pickle" in dialog.state.text()
    dialog.use.setChecked(False)
    assert window.session.composition.style_loras() == [] and window.settings.style_loras == []


def test_dropping_a_png_restores_its_loras_and_style_image(qtbot, window, drop, painting, tmp_path, monkeypatch):
    from app.export.formats import write_image
    from app.export.png import read_metadata
    from app.models.loras import LoraLibrary

    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(tmp_path / "models"))
    found = LoraLibrary().import_file(_lora(tmp_path / "woodcut.safetensors"))
    meta = {"style": "ink", "size": [64, 48], "seed": 7, "engine": "preview", "inputs": [],
            "style_image": {"name": "painting.png", "sha256": hashlib.sha256(painting.read_bytes()).hexdigest()},
            "stages": {"preview": {"loras": [{"name": "woodcut", "sha256": found.sha256, "weight": 0.7},
                                             {"name": "gone", "sha256": "0" * 64, "weight": 1.0}]}}}  # fmt: skip
    png = tmp_path / "made.png"
    write_image(png, np.full((48, 64, 3), 200, np.uint8), meta)
    assert read_metadata(png)["stages"]["preview"]["loras"][0]["weight"] == 0.7
    drop(window, [png])
    c = window.session.composition
    assert c.style == "ink" and c.style_image == str(painting)
    assert c.style_loras("ink") == [("woodcut", 0.7, "preview")]
    assert window.style_panel.style_image.path == str(painting)
    assert "gone is not imported here" in window.messages.message()
    painting.unlink()  # the style image moved away: said, not restored
    drop(window, [png])
    assert window.session.composition.style_image == ""
    assert "painting.png was not found" in window.messages.message()


def test_an_ai_stage_note_reaches_the_message_bar(qtbot, window, load_map, town):
    """A LoRA on a GGUF transformer stays unfused: the render says so (app/jobs/ai.py), and the window shows it."""
    from dataclasses import replace

    from app.inference.lora import GGUF_NOTE

    load_map(window, [town])
    res = replace(window.session.sketch, warnings=[*window.session.sketch.warnings, GGUF_NOTE], engine="preview")
    window._ai_ready("preview", res)
    assert GGUF_NOTE in window.messages.message() or "GGUF" in window.messages.message()
