"""Manage models: Import (file or folder, on a worker), Verify and Repair, and the speed warning before a download."""

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.models.model_files import gguf_bytes
from tests.ui.models_window import models_dialog, select

gguf = pytest.importorskip("gguf")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

MODEL, VARIANT = "z-image-turbo", "q4_k_m"


def fake_repos(catalog, tmp_path):
    """Stand-ins for every file the variant needs, at the catalog's own repo paths; the GGUF is a real one."""
    from app.models.download import wanted_paths

    entry = catalog.models[MODEL]
    repos: dict[str, dict[str, bytes]] = {}
    for repo, path in wanted_paths(entry, entry.variants[VARIANT]):
        name = path + "part.json" if path.endswith("/") else path
        data = b"{}"
        if name.endswith(".gguf"):
            data = gguf_bytes(tmp_path)
        elif name.endswith(".safetensors"):
            data = safetensors_numpy.save({"w": np.ones((8, 4), np.float32)})
        repos.setdefault(repo, {})[name] = data
    return repos


@pytest.fixture
def dialog(qtbot, window, monkeypatch, tmp_path):
    from app.models.catalog import load_catalog

    with models_dialog(qtbot, window, monkeypatch, tmp_path, fake_repos(load_catalog(), tmp_path)) as opened:
        yield opened


def wait_job(qtbot, dlg):
    qtbot.waitUntil(lambda: dlg.job is not None and dlg.job.done, timeout=30000)


def test_import_button_registers_a_gguf_file_on_a_worker(qtbot, dialog, tmp_path, monkeypatch):
    dlg, _ = dialog
    src = tmp_path / "z_image_turbo-Q4_K_M.gguf"
    src.write_bytes(gguf_bytes(tmp_path))
    assert dlg.import_button.menu() is not None and len(dlg.import_button.menu().actions()) == 2
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(src), ""))
    dlg.import_file()
    assert dlg.job is not None and dlg.job.name == "import"  # the work is on a worker, not in the click
    wait_job(qtbot, dlg)
    assert dlg.state.text().startswith("Registered z-image-turbo (q4_k_m)"), dlg.state.text()
    row = select(dlg, MODEL, VARIANT)
    assert "(imported)" in dlg.table.item(row, 5).text()


def test_import_of_a_file_mapbrush_cannot_load_is_one_line(qtbot, dialog, tmp_path, monkeypatch):
    dlg, _ = dialog
    bad = tmp_path / "notes.gguf"
    bad.write_bytes(b"this is a text file, not a model")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    dlg.import_file()
    wait_job(qtbot, dlg)
    text = dlg.state.text()
    assert text.startswith(f"Import failed: {bad}: ") and "GGUF" in text and "\n" not in text
    assert dlg.store.installed() == {}
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    dlg.import_folder()
    wait_job(qtbot, dlg)
    assert "model_index.json" in dlg.state.text()


def test_verify_names_the_broken_file_and_repair_fetches_only_it(qtbot, dialog):
    dlg, hub = dialog
    model = dlg.store.download(MODEL, VARIANT)
    good = model.weights.read_bytes()
    with open(model.weights, "r+b") as fh:
        fh.write(b"JUNK")  # the magic overwritten
    dlg.refresh()
    select(dlg, MODEL, VARIANT)
    dlg.verify_button.click()
    wait_job(qtbot, dlg)
    text = dlg.state.text()
    assert text.startswith(str(model.weights)) and "--repair" in text
    assert [p.path for p in dlg.problems] == [model.weights]
    hub.requests.clear()
    dlg.repair_button.click()
    wait_job(qtbot, dlg)
    assert "is repaired" in dlg.state.text() and model.weights.name in dlg.state.text()
    assert model.weights.read_bytes() == good
    assert [p for m, p, _ in hub.requests if m == "GET"] == [model.weights.name]
    dlg.verify_button.click()
    wait_job(qtbot, dlg)
    assert "every file is whole" in dlg.state.text()


def test_a_slow_machine_is_told_before_the_download(qtbot, window, monkeypatch, tmp_path):
    from app.models.catalog import load_catalog
    from app.models.hardware import Hardware
    from app.models.speed import estimate
    from app.models.tiers import choose_tier
    from app.ui.models_dialog import ModelsDialog
    from app.ui.tasks import EngineStatus

    catalog = load_catalog()
    tier = choose_tier(Hardware(system="Linux", machine="x86_64", cpu_count=2), catalog)
    window.session.status = EngineStatus("no GPU", 0.0, tier.label, {}, speed=estimate(tier, catalog, 50e9))
    window.settings.models_dir = str(tmp_path / "models")
    dlg = ModelsDialog(window)
    qtbot.addWidget(dlg)
    assert not dlg.speed.isHidden() and "procedural engine" in dlg.speed.text()
    asked = []
    no = QMessageBox.StandardButton.No
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text: asked.append(text) or no)
    select(dlg, MODEL, VARIANT)
    dlg.download_button.click()
    assert asked and asked[0].startswith("On this machine (CPU") and "would take about" in asked[0]
    assert asked[0].index("would take") < asked[0].index("Size:")


def test_status_bar_says_an_image_takes_minutes_here(qtbot, window):
    from app.models.catalog import load_catalog
    from app.models.hardware import Hardware
    from app.models.speed import estimate
    from app.models.tiers import choose_tier
    from app.ui.tasks import EngineStatus, StageState

    catalog = load_catalog()
    tier = choose_tier(Hardware(system="Linux", machine="x86_64", cpu_count=2), catalog)
    stages = {"preview": StageState(False, "not installed", "Z-Image-Turbo")}
    window._engine_status(EngineStatus("no GPU", 0.0, tier.label, stages, speed=estimate(tier, catalog, 50e9)))
    label = window.engine_status.hardware
    assert "min an image on this CPU" in label.text() or " h an image on this CPU" in label.text()
    assert "procedural engine" in label.toolTip()
    fast = estimate(tier, catalog, 1e15)
    window._engine_status(EngineStatus("no GPU", 0.0, tier.label, stages, speed=fast))
    assert "an image on this" not in label.text()
