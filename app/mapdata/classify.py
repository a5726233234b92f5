"""Tags / attributes → Kind. OSM tags first, then attribute names common in GeoJSON, shapefiles and Natural Earth."""

from __future__ import annotations

from functools import lru_cache

from app.mapdata.model import Kind

_HIGHWAY = {
    "motorway": Kind.MOTORWAY,
    "trunk": Kind.PRIMARY,
    "primary": Kind.PRIMARY,
    "secondary": Kind.SECONDARY,
    "tertiary": Kind.TERTIARY,
    "residential": Kind.RESIDENTIAL,
    "living_street": Kind.RESIDENTIAL,
    "unclassified": Kind.RESIDENTIAL,
    "pedestrian": Kind.RESIDENTIAL,
    "road": Kind.RESIDENTIAL,
    "service": Kind.SERVICE,
    "footway": Kind.PATH,
    "cycleway": Kind.PATH,
    "path": Kind.PATH,
    "track": Kind.PATH,
    "steps": Kind.PATH,
    "bridleway": Kind.PATH,
    "corridor": Kind.PATH,
}
_RAIL = {"rail", "light_rail", "subway", "tram", "narrow_gauge", "monorail", "funicular", "preserved"}
_WATERWAY_LINES = {"river", "stream", "canal", "drain", "ditch", "brook", "tidal_channel", "canal;river"}
_WATERWAY_AREAS = {"riverbank", "dock", "basin"}
_WATER_LANDUSE = {"reservoir", "basin", "salt_pond"}
_FOREST = {"forest", "wood"}
_GREEN = {
    "park", "garden", "golf_course", "nature_reserve", "common", "recreation_ground", "dog_park", "pitch",
    "playground", "grass", "meadow", "village_green", "cemetery", "allotments", "orchard", "vineyard",
    "scrub", "heath", "grassland", "wetland", "greenfield", "national_park", "protected_area", "fell",
}  # fmt: skip
_POI_KEYS = ("amenity", "tourism", "shop", "historic", "craft", "office", "aeroway", "public_transport")
_NE_CLASS = {  # Natural Earth `featurecla`, lower-cased prefixes
    "admin-0": Kind.ADMIN,
    "admin-1": Kind.ADMIN,
    "populated place": Kind.PLACE,
    "lake": Kind.WATER,
    "reservoir": Kind.WATER,
    "river": Kind.WATERWAY,
    "ocean": Kind.SEA,
    "sea": Kind.SEA,
}
_COUNTRY_KEYS = ("admin", "adm0_a3", "iso_a3", "sovereignt", "adm0_name", "name_0", "gid_0", "iso_3166_1")
# Name-like properties, best first, matched case-insensitively: OSM and GeoJSON (`name`), Natural Earth
# (`ADMIN`), census files (`NAMELSAD`: "Census Tract 101"), GADM (`NAME_2` names a level-2 area, whose
# `NAME_1` and `NAME_0` name the region and country it lies in), and generic `title` / `label` columns.
NAME_KEYS = ("name", "name_en", "name:en", "admin", "title", "label", "namelsad", "name_long")
NAME_KEYS += tuple(f"name_{level}" for level in range(5, -1, -1))
_USED = frozenset(
    {"place", "boundary", "admin_level", "natural", "landuse", "leisure", "water", "waterway", "highway"}
    | {"railway", "building", "featurecla", "type", "class", "fclass", "kind"}
    | set(_POI_KEYS)
    | set(_COUNTRY_KEYS)
)
TAG_KEYS = _USED  # the property keys classify() looks at (lower case)
_MEMO: dict = {}
_MEMO_MAX = 50_000


@lru_cache(maxsize=4096)
def _used_key(key) -> str | None:
    low = str(key).lower()
    return low if low in _USED else None


def _s(v) -> str:
    return str(v).strip().lower() if v is not None else ""


def classify(props: dict, geom_type: str = "") -> Kind:
    """The Kind of one feature from its tags/attributes and geometry type ("Point", "LineString", "Polygon"...).

    Keys are matched case-insensitively. Results are memoised on the tags that matter, so 100k
    features sharing a few tag combinations classify quickly.
    """
    items = tuple((low, v) for k, v in props.items() if (low := _used_key(k)) is not None)
    memo_key = (geom_type, items)
    try:
        return _MEMO[memo_key]
    except KeyError:
        pass
    except TypeError:  # unhashable attribute value
        return _classify(dict(items), geom_type)
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    kind = _MEMO[memo_key] = _classify(dict(items), geom_type)
    return kind


def _classify(t: dict, geom_type: str) -> Kind:
    area = "Polygon" in geom_type
    line = "LineString" in geom_type
    point = "Point" in geom_type

    if point and t.get("place"):
        return Kind.PLACE
    boundary = _s(t.get("boundary"))
    if boundary in ("national_park", "protected_area"):
        return Kind.PARK
    if boundary == "administrative" or (t.get("admin_level") not in (None, "") and not point):
        return Kind.ADMIN
    natural, landuse, leisure, water = _s(t.get("natural")), _s(t.get("landuse")), _s(t.get("leisure")), t.get("water")
    if area:
        if natural in ("sea", "ocean") or t.get("place") in ("sea", "ocean"):
            return Kind.SEA
        if natural == "water" or water or landuse in _WATER_LANDUSE or _s(t.get("waterway")) in _WATERWAY_AREAS:
            return Kind.WATER
        if leisure == "swimming_pool" or natural == "bay":
            return Kind.WATER
        if natural in _FOREST or landuse in _FOREST:
            return Kind.FOREST
        if leisure in _GREEN or landuse in _GREEN or natural in _GREEN:
            return Kind.PARK
    highway = _s(t.get("highway")).removesuffix("_link")
    if line:
        if highway in _HIGHWAY:
            return _HIGHWAY[highway]
        if _s(t.get("railway")) in _RAIL:
            return Kind.RAIL
        if _s(t.get("waterway")) in _WATERWAY_LINES:
            return Kind.WATERWAY
    building = _s(t.get("building"))
    if area and building and building != "no":
        return Kind.BUILDING
    if point and (any(t.get(k) for k in _POI_KEYS) or _s(t.get("railway")) in ("station", "halt")):
        return Kind.POI
    return _classify_attributes(t, area, line, point)


def _classify_attributes(t: dict, area: bool, line: bool, point: bool) -> Kind:
    """Country-scale and generic datasets: Natural Earth, GADM, plain `type`/`class` columns."""
    cla = _s(t.get("featurecla"))
    for prefix, kind in _NE_CLASS.items():
        if cla.startswith(prefix):
            if kind is Kind.PLACE and not point:
                break
            if kind in (Kind.ADMIN, Kind.SEA, Kind.WATER) and not area:
                break
            if kind is Kind.WATERWAY and not line:
                break
            return kind
    if area and any(t.get(k) for k in _COUNTRY_KEYS):
        return Kind.ADMIN
    for key in ("type", "class", "fclass", "kind"):
        value = _s(t.get(key))
        if not value:
            continue
        if line and value.removesuffix("_link") in _HIGHWAY:
            return _HIGHWAY[value.removesuffix("_link")]
        if line and value in _RAIL:
            return Kind.RAIL
        if line and value in _WATERWAY_LINES:
            return Kind.WATERWAY
        if area and value in ("water", "lake", "reservoir", "riverbank"):
            return Kind.WATER
        if area and value in _FOREST:
            return Kind.FOREST
        if area and value in _GREEN:
            return Kind.PARK
        if area and value == "building":
            return Kind.BUILDING
    return Kind.OTHER


_NAME_RANK = {key: i for i, key in enumerate(NAME_KEYS)}


@lru_cache(maxsize=4096)
def _name_rank(key) -> int | None:
    return _NAME_RANK.get(str(key).lower())


def feature_name(props: dict) -> str | None:
    """The display name of a feature from its first name-like property (NAME_KEYS, any letter case)."""
    best: tuple[int, str] | None = None
    for key, v in props.items():  # a feature has few properties: look at those, not at every name key
        rank = _name_rank(key)
        if rank is None or v is None or v != v or (best is not None and rank >= best[0]):  # v != v: NaN
            continue
        text = v.strip() if isinstance(v, str) else str(v)
        if text:
            best = (rank, text)
    return best[1] if best else None
