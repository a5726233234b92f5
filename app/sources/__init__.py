"""Network sources: a place turned into files in the cache (OSM XML from Overpass, relief tiles), read by the same
readers as any dropped file. Geocoding with Nominatim. No Qt, no torch; nothing below `jobs` imports this package.

`SourceConfig` is the one object holding endpoints, timeouts, backoff and the cache folder; every request reads it.
It comes from the settings file and the environment (the `MAPBRUSH_*` variables win), never from module globals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app import __version__

DEFAULT_NOMINATIM_URL = "https://nominatim.openstreetmap.org"
DEFAULT_OVERPASS_URL = "https://overpass-api.de/api/interpreter"
DEFAULT_TERRAIN_URL = "https://s3.amazonaws.com/elevation-tiles-prod/terrarium/{z}/{x}/{y}.png"
USER_AGENT = f"MapBrush/{__version__} (+https://github.com/mapbrush)"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
DAY = 86400.0


@dataclass(frozen=True)
class SourceConfig:
    nominatim_url: str = DEFAULT_NOMINATIM_URL  # base URL; /search and /reverse are appended
    overpass_url: str = DEFAULT_OVERPASS_URL  # the interpreter URL
    terrain_url: str = DEFAULT_TERRAIN_URL  # XYZ template with {z}/{x}/{y}
    cache_dir: Path | None = None  # None → app.paths.user_cache_dir()
    max_age_s: float = 30 * DAY  # cache entries older than this are fetched again (kept for offline use)
    timeout: float = 30.0  # seconds a connection may stay silent before we give up
    retries: int = 4  # extra tries after a 429/503/504
    backoff: float = 1.0  # first pause before a retry, doubled each time (Retry-After wins when the server says)
    max_wait: float = 60.0  # the most all pauses of one request may add up to
    nominatim_interval: float = 1.0  # seconds between Nominatim requests (its usage policy: at most 1 a second)

    @classmethod
    def load(cls, settings=None, env: Mapping[str, str] | None = None) -> SourceConfig:
        """From a Settings object (optional) and the environment, which wins: MAPBRUSH_NOMINATIM_URL,
        MAPBRUSH_OVERPASS_URL, MAPBRUSH_TERRAIN_URL, MAPBRUSH_CACHE_DIR, MAPBRUSH_CACHE_MAX_AGE_DAYS,
        MAPBRUSH_HTTP_TIMEOUT, MAPBRUSH_HTTP_BACKOFF (seconds, the first retry's pause)."""
        env = os.environ if env is None else env
        kw: dict = {}
        for name in ("nominatim_url", "overpass_url", "terrain_url"):
            value = env.get(f"MAPBRUSH_{name.upper()}") or (getattr(settings, name, "") if settings else "")
            if value:
                kw[name] = value.rstrip("/") if name == "nominatim_url" else value
        cache = env.get("MAPBRUSH_CACHE_DIR") or (getattr(settings, "cache_dir", "") if settings else "")
        if cache:
            kw["cache_dir"] = Path(cache).expanduser()
        days = _number(env.get("MAPBRUSH_CACHE_MAX_AGE_DAYS"))
        if days is None and settings is not None:
            days = getattr(settings, "cache_max_age_days", None)
        if days is not None and days >= 0:
            kw["max_age_s"] = float(days) * DAY
        for name, var in (("timeout", "MAPBRUSH_HTTP_TIMEOUT"), ("backoff", "MAPBRUSH_HTTP_BACKOFF")):
            value = _number(env.get(var))
            if value is not None and value >= 0:
                kw[name] = value
        return cls(**kw)


def _number(text) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
