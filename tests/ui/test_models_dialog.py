"""Manage models in the window: licence and size first, then a real download over HTTP from a local fake hub."""

import pytest
from PySide6.QtWidgets import QMessageBox

from app.models.download import wanted_paths
from tests.ui.models_window import models_dialog, select

MODEL, VARIANT = "flux2-klein-4b", "q4_k_m"


def fake_repos(catalog):
    """Small stand-ins for every file the variant needs, at the catalog's own repo paths."""
    entry = catalog.models[MODEL]
    repos: dict[str, dict[str, bytes]] = {}
    for repo, path in wanted_paths(entry, entry.variants[VARIANT]):
        name = path + "part.json" if path.endswith("/") else path
        repos.setdefault(repo, {})[name] = b"GGUF" + bytes(4096) if name.endswith(".gguf") else b"{}"
    return repos


@pytest.fixture
def dialog(qtbot, window, monkeypatch, tmp_path):
    from app.models.catalog import load_catalog

    with models_dialog(qtbot, window, monkeypatch, tmp_path, fake_repos(load_catalog())) as opened:
        yield opened


def test_declining_the_licence_downloads_nothing(qtbot, dialog, monkeypatch):
    dlg, hub = dialog
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda _p, _t, text: asked.append(text) or QMessageBox.StandardButton.No
    )
    select(dlg, MODEL, VARIANT)
    dlg.download_button.click()
    assert asked and "apache-2.0" in asked[0] and "GB" in asked[0]
    assert dlg.job is None and not hub.requests


def test_download_installs_and_remove_frees(qtbot, dialog, monkeypatch):
    dlg, hub = dialog
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    row = select(dlg, MODEL, VARIANT)
    assert dlg.table.item(row, 5).text() == "no"
    dlg.download_button.click()
    qtbot.waitUntil(lambda: dlg.job is not None and dlg.job.done, timeout=60000)
    row = select(dlg, MODEL, VARIANT)
    assert dlg.table.item(row, 5).text() == "yes", dlg.state.text()
    assert "installed" in dlg.state.text() and any(m == "GET" for m, _p, _r in hub.requests)
    assert dlg.store.locate(MODEL, VARIANT) is not None

    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    dlg.remove_button.click()
    qtbot.waitUntil(lambda: dlg.store.locate(MODEL, VARIANT) is None, timeout=10000)


FAKE_PIP = """
import pathlib, sys
target = pathlib.Path(sys.argv[sys.argv.index("--target") + 1])
target.mkdir(parents=True, exist_ok=True)
(target / "mapbrush_fake_torch.py").write_text("VALUE = 1")
print("Successfully installed torch-fake")
"""


def test_install_ai_engines_asks_first_then_installs_into_the_managed_folder(qtbot, dialog, monkeypatch, tmp_path):
    """The installer is a stand-in pip (a real subprocess): nothing is downloaded."""
    import sys

    from app.models import runtime

    dlg, _hub = dialog
    script = tmp_path / "fake_pip.py"
    script.write_text(FAKE_PIP)
    monkeypatch.setattr(runtime, "installer_command", lambda: [sys.executable, str(script)])
    monkeypatch.setattr(sys, "path", list(sys.path))
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda _p, _t, text: asked.append(text) or QMessageBox.StandardButton.Yes
    )
    dlg.ai_button.setVisible(True)
    dlg.install_ai()
    assert asked and "Download: about" in asked[0]
    qtbot.waitUntil(lambda: dlg.job is not None and dlg.job.done, timeout=60000)
    assert "installed" in dlg.state.text(), dlg.state.text()
    assert runtime.installed() is not None and not dlg.ai_button.isVisible()
    assert str(runtime.runtime_dir() / "site-packages") in sys.path
