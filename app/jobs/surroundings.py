"""A render's map data from a place, a box, or the landscape around its files: the area worked out (geocoding
with Nominatim when a place is named), OpenStreetMap data fetched for it (Overpass, cached) and read by the
ordinary OSM reader, then layered under the files like one more file.

`load_request` is what render() calls to read a request; the window uses `resolve_area` and `fetch_area` on its
own lanes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import InputError, NetworkError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.mapdata.model import MapData

M_PER_DEG = 111_320.0
MIN_RADIUS_M, MAX_RADIUS_M = 50.0, 100_000.0
PLACE_RADIUS_M = (500.0, 2000.0)  # a named town or city without --radius: its own size, within these
CONTEXT_PAD = 0.15  # --context without --radius: the files' span padded by this share of its longer side …
CONTEXT_MIN_PAD_M = 300.0  # … and at least this
WIDE_RANK = 12  # Nominatim place_rank up to a county: the map is the place's whole box

_RADIUS = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(km|m|mi)?\s*$", re.I)


def parse_radius(text: str) -> float:
    """'1.5km', '800m', '2 km', '1mi' or a bare number of metres → metres."""
    m = _RADIUS.match(str(text))
    if not m:
        raise InputError(f"'{text}' is not a distance like 1.5km or 800m")
    value = float(m.group(1)) * {"km": 1000.0, "m": 1.0, "mi": 1609.344}[(m.group(2) or "m").lower()]
    if not MIN_RADIUS_M <= value <= MAX_RADIUS_M:
        span = f"{MIN_RADIUS_M:g} m to {MAX_RADIUS_M / 1000:g} km"
        raise InputError(f"a radius of {str(text).strip()} is out of range ({span})")
    return value


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'W,S,E,N' in degrees (e.g. 13.70,46.45,13.80,46.52)."""
    from app.sources.overpass import check_bbox

    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    if len(parts) != 4:
        raise InputError(f"'{text}' is not a box like west,south,east,north (e.g. 13.70,46.45,13.80,46.52)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"'{text}' is not a box like west,south,east,north (four numbers)") from None
    return check_bbox(values)


def _metres(bbox) -> tuple[float, float]:
    w, s, e, n = bbox
    return (e - w) * M_PER_DEG * math.cos(math.radians((s + n) / 2)), (n - s) * M_PER_DEG


def _clamp_lat(v: float) -> float:
    return max(-85.0, min(85.0, v))


def box_around(lon: float, lat: float, radius_m: float, aspect: float = 1.0) -> tuple[float, float, float, float]:
    """The box centred on lon/lat whose shorter side is 2·radius and whose sides have the picture's `aspect`."""
    half_w, half_h = (radius_m * aspect, radius_m) if aspect >= 1 else (radius_m, radius_m / aspect)
    dlat = half_h / M_PER_DEG
    dlon = half_w / (M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return (max(-180.0, lon - dlon), _clamp_lat(lat - dlat), min(180.0, lon + dlon), _clamp_lat(lat + dlat))


def fit_aspect(bbox, aspect: float, pad_m: float = 0.0) -> tuple[float, float, float, float]:
    """`bbox` padded by `pad_m` and widened (never cut) to the picture's aspect, so the data fills the page."""
    w_m, h_m = _metres(bbox)
    w_m, h_m = w_m + 2 * pad_m, h_m + 2 * pad_m
    if w_m / max(h_m, 1e-9) < aspect:
        w_m = h_m * aspect
    else:
        h_m = w_m / aspect
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    half = min(w_m, h_m) / 2
    return box_around(lon, lat, half, w_m / h_m)


@dataclass
class Area:
    """What to fetch: the box, the name shown for it, and the request that gave it (for the metadata)."""

    bbox: tuple[float, float, float, float]
    name: str  # "Kranjska Gora", "13.700,46.450,13.800,46.520", "hike.gpx"
    query: dict = field(default_factory=dict)  # {"place": …, "radius_m": …, "bbox": …, "context": …}
    place: object = None  # app.sources.places.Place when a place was searched


def _config(config):
    from app.sources import SourceConfig

    return config or SourceConfig.load()


def resolve_area(req, files: MapData | None = None, *, config=None, cache=None, cancel: CancelToken = NEVER,
                 progress: Progress = NULL_PROGRESS) -> Area | None:  # fmt: skip
    """The area a request asks for: its --bbox, the --place found by Nominatim, or the files' bounds (--context);
    None when it asks for none. The box takes the picture's aspect, so the data fills the page."""
    w, h = req.size
    aspect = w / h
    radius = req.radius_m
    if req.bbox is not None:
        from app.sources.overpass import check_bbox

        bbox = check_bbox(req.bbox)
        name = ",".join(f"{v:.4f}" for v in bbox)
        return Area(fit_aspect(bbox, aspect), name, {"bbox": list(bbox)})
    if req.place:
        from app.sources.cache import Cache
        from app.sources.places import find

        config = _config(config)
        place = find(req.place, config=config, cache=cache or Cache.from_config(config), cancel=cancel,
                     progress=progress)  # fmt: skip
        query = {"place": " ".join(req.place.split()), "found": place.display_name, "lat": place.lat, "lon": place.lon}
        if radius is None and place.bbox is not None and place.rank is not None and place.rank <= WIDE_RANK:
            return Area(fit_aspect(place.bbox, aspect), place.name, query, place)
        if radius is None:
            lo, hi = PLACE_RADIUS_M
            radius = lo if place.bbox is None else min(hi, max(lo, math.sqrt(max(_area_m2(place.bbox), 0.0)) / 2))
            radius = round(radius, -1)
        query["radius_m"] = radius
        return Area(box_around(place.lon, place.lat, radius, aspect), place.name, query, place)
    if req.context:
        bounds = files.frame_bounds() if files is not None else None
        if bounds is None:
            raise InputError("--context needs map files to draw the landscape around")
        w_m, h_m = _metres(bounds)
        pad = radius if radius is not None else max(CONTEXT_MIN_PAD_M, CONTEXT_PAD * max(w_m, h_m))
        names = ", ".join(Path(s.path).name for s in files.sources[:3])
        query = {"context": [Path(s.path).name for s in files.sources], "pad_m": round(pad, 1)}
        return Area(fit_aspect(bounds, aspect, pad), names, query)
    return None


def _area_m2(bbox) -> float:
    w_m, h_m = _metres(bbox)
    return w_m * h_m


def fetch_area(area: Area, *, config=None, cache=None, cancel: CancelToken = NEVER,
               progress: Progress = NULL_PROGRESS) -> MapData:  # fmt: skip
    """OpenStreetMap data for the area, as MapData with one source "OpenStreetMap (<name>)" (format osm-xml) whose
    `fetched` records the service, query and date. What the area cap left out is in its warnings."""
    from app.mapdata.io import read_file
    from app.sources.cache import Cache
    from app.sources.http import SourceError
    from app.sources.overpass import cache_key, entry_meta, fetch_osm

    config = _config(config)
    cache = cache or Cache.from_config(config)
    notes: list[str] = []
    path = fetch_osm(area.bbox, cancel=cancel, progress=progress, cache=cache, config=config, query_name=area.name,
                     warnings=notes)  # fmt: skip
    meta = entry_meta(path)
    try:
        data = read_file(path, progress=progress, cancel=cancel)
    except InputError as e:
        if "no map features" in e.message:
            raise SourceError(f"OpenStreetMap has no map features in the area of {area.name}") from None
        if meta.get("query"):  # a bad entry must not be read again
            cache.discard(cache_key(config, meta["query"]), ".osm")
        raise SourceError(f"the OpenStreetMap data fetched for {area.name} cannot be read ({e.message})") from None
    src = data.sources[0]
    src.name = f"OpenStreetMap ({area.name})"
    src.fetched = {
        "name": src.name,
        "service": meta.get("service", "OpenStreetMap (Overpass API)"),
        "endpoint": meta.get("endpoint", config.overpass_url),
        "request": area.query,
        "bbox": [round(v, 6) for v in area.bbox],
        "detail": meta.get("detail"),
        "fetched": meta.get("fetched"),
        "attribution": meta.get("attribution", "© OpenStreetMap contributors"),
        "license": meta.get("license", "ODbL-1.0"),
    }
    data.warnings = notes + data.warnings
    return data


def load_request(req, *, config=None, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> MapData:
    """The request's map data: its files, with the OpenStreetMap data of its --place, --bbox or --context area under
    them. With --context a failed fetch leaves the files alone, with a one-line warning; otherwise it is the error."""
    from app.mapdata.io import read_files

    files = read_files([Path(p) for p in req.inputs], progress=progress, cancel=cancel) if req.inputs else None
    if not (req.place or req.bbox is not None or req.context):
        return files
    try:
        area = resolve_area(req, files, config=config, cancel=cancel, progress=progress)
        osm = fetch_area(area, config=config, cancel=cancel, progress=progress)
    except NetworkError as e:
        if req.context and files is not None and not (req.place or req.bbox is not None):
            files.warnings.append(f"drawn without surroundings: {e.one_line()}")
            return files
        raise
    if files is None:
        return osm
    data = MapData.merge([osm, files])  # the files draw on top
    data.extent = area.bbox  # frame the area fetched, files and all
    return data


def fetched_sources(data: MapData) -> list[dict]:
    """The `fetched` records of the data's network sources (for the picture's metadata)."""
    return [dict(s.fetched) for s in data.sources if getattr(s, "fetched", None)]
