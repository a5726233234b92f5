"""Where things live: bundled resources and the user's folders (platformdirs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "MapBrush"


def resource_root() -> Path:
    """The bundled `resources/` folder, in a source checkout, an installed wheel or a frozen build."""
    env = os.environ.get("MAPBRUSH_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "resources", here / "resources"):
        if candidate.is_dir():
            return candidate
    return here.parent / "resources"


def models_toml() -> Path:
    """The model catalog (models.toml), next to resources/ in every layout."""
    return resource_root().parent / "models.toml"


def _dirs():
    from platformdirs import PlatformDirs

    return PlatformDirs(APP_NAME, appauthor=False)


def user_data_dir() -> Path:
    env = os.environ.get("MAPBRUSH_DATA_DIR")
    return Path(env) if env else Path(_dirs().user_data_dir)


def user_config_dir() -> Path:
    env = os.environ.get("MAPBRUSH_CONFIG_DIR")
    return Path(env) if env else Path(_dirs().user_config_dir)


def user_log_dir() -> Path:
    env = os.environ.get("MAPBRUSH_LOG_DIR")
    return Path(env) if env else Path(_dirs().user_log_dir)


def user_styles_dir() -> Path:
    return user_data_dir() / "styles"


def models_dir() -> Path:
    env = os.environ.get("MAPBRUSH_MODELS_DIR")
    return Path(env) if env else user_data_dir() / "models"


def user_cache_dir() -> Path:
    """Fetched data (OSM extracts, relief tiles, place searches): env MAPBRUSH_CACHE_DIR, else platformdirs."""
    env = os.environ.get("MAPBRUSH_CACHE_DIR")
    return Path(env) if env else Path(_dirs().user_cache_dir)
