"""Manage models shows what the GPU lane holds resident and the room left, from its published snapshot."""

from app.inference.manager import GB, ModelManager, Residency


def test_manage_models_shows_resident_models_and_room(qtbot, window, tmp_path):
    from app.ui.models_dialog import ModelsDialog

    window.settings.models_dir = str(tmp_path / "models")
    dlg = ModelsDialog(window)
    qtbot.addWidget(dlg)
    assert dlg.resident.text().startswith("Resident: nothing yet")  # no engine has loaded anything
    engines = window.session.engines.get()  # what the GPU lane's first job creates
    engines._manager = ModelManager(12 * GB)
    assert dlg.resident.text().startswith("Resident: nothing yet")  # nothing changes until it refreshes
    dlg.refresh()
    assert dlg.resident.text() == "Resident: nothing · room left 12.0 GB of 12.0 GB"
    rows = (("Z-Image-Turbo q8_0", int(7.7 * GB)), ("FLUX.2 [klein] 4B q8_0", int(1.2 * GB)))
    engines._manager.residency = Residency(rows, int(8.9 * GB), 12 * GB)  # as the lane publishes it after a load
    dlg.refresh()
    assert dlg.resident.text() == (
        "Resident: Z-Image-Turbo q8_0 (7.7 GB), FLUX.2 [klein] 4B q8_0 (1.2 GB) · room left 3.1 GB of 12.0 GB"
    )
