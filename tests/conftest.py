import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One compute thread per worker (and in the subprocesses it starts): `-n auto` already runs a worker per core,
    # and torch's or numpy's own thread pool on top of that only makes them wait on each other.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
CLOSED_URL = "http://127.0.0.1:9"  # nothing listens here


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's settings, styles, models or logs."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("MAPBRUSH_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("MAPBRUSH_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("MAPBRUSH_LOG_DIR", str(base / "log"))
    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(base / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(base / "cache"))
    # Relief tiles: a loopback port nothing listens on, so a test that forgets its own tile server never reaches
    # the public Terrarium tiles (it gets "connection refused" at once).
    monkeypatch.setenv("MAPBRUSH_TERRAIN_URL", "http://127.0.0.1:9/terrarium/{z}/{x}/{y}.png")
    # Network sources: never the public instances. Port 9 (discard) on loopback is closed, so a test that
    # forgets to start its own server fails at once with "connection refused", loudly, and no test leaves the box.
    monkeypatch.setenv("MAPBRUSH_CACHE_DIR", str(base / "cache"))
    for var in ("MAPBRUSH_NOMINATIM_URL", "MAPBRUSH_OVERPASS_URL"):
        monkeypatch.setenv(var, CLOSED_URL)
    monkeypatch.setenv("MAPBRUSH_TERRAIN_URL", CLOSED_URL + "/{z}/{x}/{y}.png")
    yield
