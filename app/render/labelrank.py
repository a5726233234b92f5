"""How important a named feature is, for the label placer: places by rank and population, points by whether a
visitor would look for them on a map (a museum, a station, a peak) or not (a café, a shop), countries by size
and population. Pure functions of a feature's tags; no geometry."""

from __future__ import annotations

import math

from app.mapdata.model import Kind

PLACE_RANK = {"city": 0, "town": 1, "village": 2, "suburb": 3, "borough": 3, "island": 3, "quarter": 4}
PLACE_RANK |= {"hamlet": 4, "neighbourhood": 5, "locality": 6, "isolated_dwelling": 6, "islet": 5}
ROAD_RANK = {Kind.MOTORWAY: 0, Kind.PRIMARY: 1, Kind.SECONDARY: 2, Kind.TERTIARY: 3, Kind.RESIDENTIAL: 4}
ROAD_RANK |= {Kind.SERVICE: 5, Kind.PATH: 6, Kind.WATERWAY: -1}  # rivers are named before streets

# Points a map at city scale names: what people go to see or find their way by.
LANDMARKS = {
    "tourism": {"museum", "attraction", "viewpoint", "gallery", "zoo", "theme_park", "aquarium", "artwork"},
    "historic": {"castle", "monument", "memorial", "fort", "ruins", "archaeological_site", "city_gate", "palace"},
    "amenity": {"place_of_worship", "theatre", "townhall", "university", "arts_centre", "concert_hall"},
    "railway": {"station", "halt"},
    "public_transport": {"station"},
    "aeroway": {"aerodrome", "terminal"},
    "natural": {"peak", "volcano", "cape", "cave_entrance", "waterfall", "glacier", "saddle", "spring"},
    "man_made": {"lighthouse", "tower", "windmill", "observatory"},
    "building": {"cathedral", "church", "castle", "palace", "mosque", "temple", "synagogue"},
    "leisure": {"stadium", "marina"},
    "waterway": {"waterfall"},
}
# Tag keys that make a point a map feature of OSM (as opposed to a waypoint or a row of a dataset).
MAP_TAG_KEYS = set(LANDMARKS) | {"shop", "craft", "office", "healthcare", "emergency", "sport", "highway"}
# Above this ground size (metres per pixel at a 1024-px long side) ordinary points (cafés, shops) go unnamed.
MINOR_POI_MAX_MPP = 1.6


def _low(props: dict) -> dict[str, str]:
    return {str(k).lower(): str(v).strip().lower() for k, v in props.items() if v is not None}


def _number(v) -> float:
    try:
        x = float(str(v).replace(",", "").replace(" ", ""))
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) and x > 0 else 0.0


def place_rank(props: dict) -> tuple[int, float]:
    """(rank, -population): city < town < village < suburb < hamlet …; a bigger population first within a rank.
    Natural Earth populated places rank by their SCALERANK; a capital outranks its peers."""
    t = _low(props)
    rank = PLACE_RANK.get(t.get("place", ""), 7)
    if "place" not in t and "scalerank" in t:
        rank = min(6, int(_number(t["scalerank"]) // 2))
    pop = max(_number(t.get("population")), _number(t.get("pop_max")), _number(t.get("pop_est")))
    if t.get("capital") in ("yes", "2", "4") or t.get("featurecla", "").startswith("admin-0 capital"):
        pop *= 10.0
    return rank, -pop


def poi_class(props: dict) -> int:
    """0: a landmark (museum, monument, station, place of worship, peak …); 1: a point of the person's own data
    (a GPX waypoint, a row of a dataset: no map tags); 2: an ordinary point (café, shop, bar, restaurant …)."""
    t = _low(props)
    if any(t.get(key) in values for key, values in LANDMARKS.items()):
        return 0
    if t.get("tourism") and t.get("tourism") not in ("hotel", "hostel", "guest_house", "motel", "apartment"):
        return 2
    if not (MAP_TAG_KEYS | {"amenity", "tourism"}) & set(t):
        return 1
    return 2


def minor_pois_allowed(meters_per_px: float, size: tuple[int, int]) -> bool:
    """Whether the map is at village/street scale, where a café or a shop may be named."""
    return meters_per_px * max(size) / 1024.0 <= MINOR_POI_MAX_MPP


def region_weight(area_px: float, props: dict) -> float:
    """Importance of a country/region label: its area on the picture, a little more for a populous one."""
    t = _low(props)
    pop = _number(t.get("pop_est") or t.get("population"))
    rank = _number(t.get("labelrank") or t.get("scalerank"))
    boost = 1.0 + 0.25 * math.log10(1.0 + pop / 1e7)
    if rank:
        boost *= 1.0 + 0.15 * max(0.0, 5.0 - rank)
    return area_px * boost


def short_names(props: dict) -> list[str]:
    """Shorter forms of a name, best first: Natural Earth's NAME_SHORT/ABBREV, where present."""
    out = []
    for key in ("name_short", "abbrev", "brk_name"):
        for k, v in props.items():
            if str(k).lower() == key and isinstance(v, str) and v.strip():
                out.append(v.strip())
    return out
