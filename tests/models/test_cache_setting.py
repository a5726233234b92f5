"""settings.model_cache_gb reaches the model manager; 0 means the machine's own budget."""

import pytest

from app.settings import Settings


def test_model_cache_setting_round_trips_and_rejects_nonsense(tmp_path):
    assert Settings().model_cache_gb == 0  # auto
    Settings(model_cache_gb=10).save(tmp_path)
    assert Settings.load(tmp_path).model_cache_gb == 10
    Settings.path(tmp_path).write_text("schema = 2\nmodel_cache_gb = -3\n")
    assert Settings.load(tmp_path).model_cache_gb == 0
    Settings.path(tmp_path).write_text('schema = 2\nmodel_cache_gb = "lots"\n')
    assert Settings.load(tmp_path).model_cache_gb == 0


def test_engines_budget_follows_the_setting(tmp_path):
    pytest.importorskip("torch")
    from app.inference.manager import GB, cache_budget_bytes
    from app.jobs.ai import Engines
    from app.models.hardware import read_ram

    assert Engines(tmp_path, "cpu", cache_gb=6).manager.budget_bytes == 6 * GB
    auto = Engines(tmp_path, "cpu").manager
    assert auto.budget_bytes == cache_budget_bytes(read_ram()[0])  # CPU: RAM less room for the OS and the app
    assert auto.residency.line().endswith(f"of {auto.budget_bytes / GB:.1f} GB")
