"""Place search (geocoding) with Nominatim, through its documented HTTP API (format=jsonv2).

Not geopy: its Nominatim class is a thin wrapper over the same two calls, and we need our own transport anyway
(size bound, cancel, backoff, the 1-request-a-second rule shared with every other caller, the cache), so geopy
would add a dependency and a second rate limiter for no gain.

Answers are cached like everything fetched, so a repeat `--place` render works offline. The usage policy of the
public instance (https://operations.osmfoundation.org/policies/nominatim/): a User-Agent naming the app, at most
one request a second, no autocomplete per keystroke (the window searches on Enter only).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.sources import SourceConfig
from app.sources.cache import Cache
from app.sources.http import SourceError, get, host_of

MAX_BYTES = 2 * 2**20
SERVICE = "OpenStreetMap Nominatim"


class PlaceNotFound(InputError):
    """The search found nothing."""


@dataclass(frozen=True)
class Place:
    name: str  # "Kranjska Gora"
    display_name: str  # "Kranjska Gora, Upravna enota Jesenice, Slovenia"
    type: str  # "village", "city", "administrative", "peak" …
    country: str | None
    lat: float
    lon: float
    bbox: tuple[float, float, float, float] | None  # west, south, east, north
    osm: str | None = None  # "relation/2141", when Nominatim names the object
    rank: int | None = None  # Nominatim's place_rank: 4 a country, 8 a state, 12 a county, 16 a city, 19 a village

    def label(self) -> str:
        """One line for a results list: name, type and country."""
        kind = self.type.replace("_", " ")
        return ", ".join(p for p in (self.name, kind, self.country) if p)

    def to_dict(self) -> dict:
        return asdict(self)


def _place(row: dict) -> Place | None:
    try:
        lat, lon = float(row["lat"]), float(row["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    bbox = None
    box = row.get("boundingbox")
    if isinstance(box, list) and len(box) == 4:
        try:
            s, n, w, e = (float(v) for v in box)  # Nominatim's order: south, north, west, east
            if s <= n and w <= e:
                bbox = (w, s, e, n)
        except (TypeError, ValueError):
            bbox = None
    address = row.get("address") if isinstance(row.get("address"), dict) else {}
    display = str(row.get("display_name") or "")
    name = str(row.get("name") or display.split(",")[0]).strip() or f"{lat:.4f}, {lon:.4f}"
    country = address.get("country") or (display.rsplit(",", 1)[-1].strip() if "," in display else None)
    kind = str(row.get("type") or row.get("addresstype") or row.get("category") or "place")
    osm = f"{row['osm_type']}/{row['osm_id']}" if row.get("osm_type") and row.get("osm_id") else None
    try:
        rank = int(row["place_rank"]) if row.get("place_rank") is not None else None
    except (TypeError, ValueError):
        rank = None
    return Place(name, display, kind, country, lat, lon, bbox, osm, rank)


def _ask(
    path: str,
    params: dict,
    *,
    config: SourceConfig,
    cache: Cache | None,
    cancel: CancelToken,
    progress: Progress,
    timeout: float | None = None,
):
    base = config.nominatim_url.rstrip("/")
    url = f"{base}/{path}"
    params = {**params, "format": "jsonv2", "addressdetails": "1"}
    key = "nominatim " + url + "?" + "&".join(f"{k}={params[k]}" for k in sorted(params))
    label = f"{SERVICE} ({host_of(url)})"
    hit = cache.get(key, ".json") if cache is not None else None
    if hit is not None:
        return json.loads(hit)
    try:
        body = get(
            url,
            params=params,
            max_bytes=MAX_BYTES,
            timeout=timeout or config.timeout,
            cancel=cancel,
            progress=progress,
            accept="application/json",
            config=config,
            min_interval=config.nominatim_interval,
            label=label,
        )
    except SourceError:
        stale = cache.get(key, ".json", stale=True) if cache is not None else None
        if stale is None:
            raise
        return json.loads(stale)  # offline: an expired answer beats none
    try:
        answer = json.loads(body)
    except ValueError:
        raise SourceError(f"{label}: the answer is not JSON") from None
    if isinstance(answer, dict) and "error" in answer and path == "search":
        raise SourceError(f"{label}: {' '.join(str(answer['error']).split())[:160]}")
    if cache is not None and answer:  # an empty search is not kept: the place may be added to the map
        cache.put(key, body, ".json", meta={"service": SERVICE, "url": url, "params": params})
    return answer


def search(
    query: str,
    limit: int = 5,
    *,
    config: SourceConfig | None = None,
    cache: Cache | None = None,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
) -> list[Place]:
    """Places matching `query`, best first (may be empty)."""
    query = " ".join(str(query).split())
    if not query:
        raise InputError("the place to search for is empty")
    config = config or SourceConfig()
    answer = _ask(
        "search",
        {"q": query, "limit": str(max(1, min(int(limit), 40)))},
        config=config,
        cache=cache,
        cancel=cancel,
        progress=progress,
    )
    if not isinstance(answer, list):
        raise SourceError(f"{SERVICE}: the answer is not a list of places")
    return [p for p in (_place(r) for r in answer if isinstance(r, dict)) if p is not None]


def find(query: str, **kw) -> Place:
    """The best match for `query`; PlaceNotFound (exit 2) when there is none."""
    hits = search(query, limit=kw.pop("limit", 1), **kw)
    if not hits:
        raise PlaceNotFound(f"no place called '{' '.join(query.split())}' was found ({SERVICE})")
    return hits[0]


def reverse(
    lat: float,
    lon: float,
    *,
    zoom: int = 14,
    config: SourceConfig | None = None,
    cache: Cache | None = None,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
) -> Place | None:
    """The place at lat/lon (zoom 14: a suburb or village; 10: a city), or None where Nominatim knows none."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{lat}, {lon} is not a latitude, longitude")
    config = config or SourceConfig()
    params = {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "zoom": str(int(zoom))}
    answer = _ask("reverse", params, config=config, cache=cache, cancel=cancel, progress=progress)
    if not isinstance(answer, dict) or "error" in answer:
        return None
    return _place(answer)
