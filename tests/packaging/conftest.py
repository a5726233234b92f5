"""The frozen bundle, built once per test session (or given by MAPBRUSH_FROZEN_BUNDLE: a built folder)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_build():
    spec = importlib.util.spec_from_file_location("mapbrush_build", ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def frozen_build(tmp_path_factory) -> dict:
    """{'bundle': folder with the executables, 'archive': the Linux tar.gz or None, 'seconds': build time}."""
    given = os.environ.get("MAPBRUSH_FROZEN_BUNDLE")
    if given:  # built beforehand (the release workflow): MAPBRUSH_FROZEN_ARCHIVE may name its Linux tar.gz
        archive = os.environ.get("MAPBRUSH_FROZEN_ARCHIVE")
        return {"bundle": Path(given), "archive": Path(archive) if archive else None, "seconds": 0.0}
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[test]')")
    if not sys.platform.startswith("linux"):
        pytest.skip("builds the Linux bundle; on macOS/Windows set MAPBRUSH_FROZEN_BUNDLE to a built folder")
    base = tmp_path_factory.mktemp("frozen")
    result = _load_build().build(base / "dist", base / "work", installer=False)
    print(f"\nfrozen build: {result['size'] / 1e6:.0f} MB in {result['seconds']:.0f}s")
    return result


@pytest.fixture(scope="session")
def bundle(frozen_build) -> Path:
    folder = frozen_build["bundle"]
    if folder.suffix == ".app":
        folder = folder / "Contents" / "MacOS"
    return folder


def exe(bundle: Path, name: str) -> Path:
    """The window (`MapBrush`) or the command line (`mapbrush`: `mapbrush-cli` where case is ignored)."""
    if name == "mapbrush" and not sys.platform.startswith("linux"):
        name = "mapbrush-cli"
    return bundle / (name + ".exe" if os.name == "nt" else name)
