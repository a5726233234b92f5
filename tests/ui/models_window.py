"""The Manage models dialog over a local fake hub, for the window's model tests."""

import contextlib

import huggingface_hub.constants as hf_constants

from tests.models.fakehub import FakeHub


@contextlib.contextmanager
def models_dialog(qtbot, window, monkeypatch, tmp_path, repos):
    """(the window's ModelsDialog, the FakeHub serving `repos`), models kept under tmp_path/models."""
    from app.ui.models_dialog import ModelsDialog

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    window.settings.models_dir = str(tmp_path / "models")
    with FakeHub(repos) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        dlg = ModelsDialog(window)
        qtbot.addWidget(dlg)
        yield dlg, hub


def select(dlg, model, variant):
    for r in range(dlg.table.rowCount()):
        if dlg.table.item(r, 0).text() == model and dlg.table.item(r, 1).text() == variant:
            dlg.table.selectRow(r)
            return r
    raise AssertionError(f"{model} {variant} not in the table")
