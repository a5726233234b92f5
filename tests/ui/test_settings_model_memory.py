"""Settings → Model memory: the spin box shows the automatic budget and a change reaches the GPU lane now."""

import pytest

pytest.importorskip("torch")


def test_model_memory_setting_takes_effect_without_a_restart(window, qtbot):
    from app.inference.manager import GB
    from app.settings import Settings
    from app.ui.settings_dialog import SettingsDialog

    holder = window.session.engines
    before = holder.get()  # an Engines built on the automatic budget
    auto = before.manager.budget_bytes
    dialog = SettingsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.cache_gb.value() == 0 and dialog.cache_gb.text() == "Automatic"
    assert f"Automatic (0): {auto / GB:.1f} GB" in dialog.cache_gb.toolTip()
    dialog.cache_gb.setValue(6)
    dialog.accept()
    qtbot.waitUntil(lambda: holder.cache_gb == 6, timeout=20000)
    assert window.settings.model_cache_gb == 6
    assert Settings.load(window.config_dir).model_cache_gb == 6  # saved
    after = holder.get()
    assert after is not before and after.manager.budget_bytes == 6 * GB
    assert holder.auto_cache_gb() == pytest.approx(auto / GB)  # the tooltip's figure is still the automatic one


def test_other_settings_keep_the_model_memory(window, qtbot):
    from app.ui.settings_dialog import SettingsDialog

    window.settings.model_cache_gb = 9
    window.session.engines.cache_gb = 9
    dialog = SettingsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.cache_gb.value() == 9
    dialog.theme.setCurrentIndex(2)
    dialog.accept()
    assert window.settings.model_cache_gb == 9
    window.session.engines.reset(None, None)  # a reset that names no budget keeps it
    assert window.session.engines.cache_gb == 9


def test_the_automatic_budget_is_worked_out_without_torch():
    """The Settings dialog shows the automatic model memory before any engine ran: that must not import torch
    on the GUI thread (seconds of stall)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom app.ui.tasks import EngineHolder\n"
        "gb = EngineHolder().auto_cache_gb()\nassert gb >= 1, gb\nassert 'torch' not in sys.modules\nprint('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
