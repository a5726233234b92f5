import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's settings, styles, models or logs."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("MAPBRUSH_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("MAPBRUSH_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("MAPBRUSH_LOG_DIR", str(base / "log"))
    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(base / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield
