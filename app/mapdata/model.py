"""MapData: what every reader returns. Columnar, geometries in lon/lat (EPSG:4326)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import shapely


class Kind(StrEnum):
    """What a feature is, as far as painting a map cares. Order = drawing order (bottom first)."""

    SEA = "sea"
    ADMIN = "admin"  # administrative areas (countries, regions) in country-scale data
    PARK = "park"  # parks, grass, meadows, gardens
    FOREST = "forest"
    WATER = "water"  # lakes, reservoirs, rivers as areas
    WATERWAY = "waterway"  # rivers, streams, canals as lines
    BUILDING = "building"
    OTHER = "other"  # anything unrecognised: kept, painted neutrally
    PATH = "path"  # footway, cycleway, path, track, steps
    SERVICE = "service"
    RESIDENTIAL = "residential"  # residential, living_street, unclassified, pedestrian
    TERTIARY = "tertiary"
    SECONDARY = "secondary"
    PRIMARY = "primary"  # primary, trunk
    MOTORWAY = "motorway"
    RAIL = "rail"
    TRACK = "track"  # GPS tracks and routes
    POI = "poi"  # waypoints, points of interest
    PLACE = "place"  # place names (city, town, village, suburb...)

    @property
    def is_road(self) -> bool:
        return self in ROAD_KINDS


ROAD_KINDS = frozenset(
    {Kind.MOTORWAY, Kind.PRIMARY, Kind.SECONDARY, Kind.TERTIARY, Kind.RESIDENTIAL, Kind.SERVICE, Kind.PATH}
)
KIND_ORDER = {k: i for i, k in enumerate(Kind)}


@dataclass
class SourceInfo:
    """One input file, as read."""

    path: str
    format: str  # "geojson", "gpx", "kml", "kmz", "shapefile", "osm-xml", "osm-pbf", "gpkg", "fgb"
    sha256: str
    crs: str = "EPSG:4326"  # the file's own CRS (data is always reprojected to EPSG:4326)
    features: int = 0
    dropped: int = 0  # features dropped for NaN/inf/out-of-range coordinates or bad geometry
    name: str | None = None  # the document's own name, if it has one (GPX metadata, GeoJSON "name")
    # data fetched from a network source (app/jobs/surroundings.py): service, request, bbox, date, attribution
    fetched: dict | None = None


@dataclass
class Raster:
    """A georeferenced picture laid under the vector data (a KML GroundOverlay image).

    `corners` are the lon/lat of the image's lower-left, lower-right, upper-right and upper-left corners (the
    order of KML's gx:LatLonQuad); a LatLonBox, rotated or not, is four such corners too. The image is
    mapped onto them bilinearly in lon/lat, then projected with the map.
    """

    image: np.ndarray  # HxWx4 uint8 RGBA, straight (not premultiplied) alpha, row 0 at the top
    corners: np.ndarray  # (4, 2) float64 lon/lat: lower-left, lower-right, upper-right, upper-left
    name: str | None = None
    order: int = 0  # drawing order among rasters, bottom first (KML drawOrder, then super-overlay level)

    def bounds(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self.corners.min(axis=0), self.corners.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass
class MapData:
    """Features in lon/lat. All arrays have one entry per feature."""

    geometries: np.ndarray  # object array of shapely geometries, EPSG:4326 lon/lat
    kinds: np.ndarray  # object array of Kind
    names: np.ndarray  # object array of str | None
    props: list[dict] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Area the data covers (lon/lat min_x, min_y, max_x, max_y); for an OSM extract its declared bounds.
    extent: tuple[float, float, float, float] | None = None
    rasters: list[Raster] = field(default_factory=list)  # pictures drawn under the features; not features

    def __post_init__(self) -> None:
        n = len(self.geometries)
        if len(self.kinds) != n or len(self.names) != n:
            raise ValueError("MapData arrays must have the same length")
        if not self.props:
            self.props = [{} for _ in range(n)]

    def __len__(self) -> int:
        return len(self.geometries)

    @classmethod
    def empty(cls) -> MapData:
        return cls(np.empty(0, object), np.empty(0, object), np.empty(0, object))

    @classmethod
    def from_lists(cls, geoms, kinds, names, props=None, **kw) -> MapData:
        g = np.empty(len(geoms), object)
        g[:] = list(geoms)
        k = np.empty(len(kinds), object)
        k[:] = [Kind(x) for x in kinds]
        nm = np.empty(len(names), object)
        nm[:] = list(names)
        return cls(g, k, nm, list(props) if props is not None else [], **kw)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """Bounds of the geometries and the rasters (not the declared extent); None when empty."""
        boxes = [r.bounds() for r in self.rasters]
        if len(self):
            boxes.append(tuple(shapely.total_bounds(self.geometries)))
        b = np.array(boxes, float).reshape(-1, 4)
        if not len(b):
            return None
        b = np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        if not np.all(np.isfinite(b)):
            return None
        return tuple(float(v) for v in b)

    def frame_bounds(self) -> tuple[float, float, float, float] | None:
        """What to frame: the declared extent if any, else the data bounds."""
        return self.extent or self.bounds()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kinds:
            out[k.value] = out.get(k.value, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: KIND_ORDER[Kind(kv[0])]))

    def select(self, mask: np.ndarray) -> MapData:
        idx = np.flatnonzero(mask)
        return MapData(
            self.geometries[idx],
            self.kinds[idx],
            self.names[idx],
            [self.props[i] for i in idx],
            list(self.sources),
            list(self.warnings),
            self.extent,
            list(self.rasters),
        )

    @staticmethod
    def merge(parts: list[MapData]) -> MapData:
        """Layer several files into one MapData; later files draw on top within a kind."""
        if not parts:
            return MapData.empty()
        extents = [p.extent or p.bounds() for p in parts]
        extents = [e for e in extents if e is not None]
        extent = None
        if any(p.extent for p in parts) and extents:
            extent = (
                min(e[0] for e in extents),
                min(e[1] for e in extents),
                max(e[2] for e in extents),
                max(e[3] for e in extents),
            )
        return MapData(
            np.concatenate([p.geometries for p in parts]),
            np.concatenate([p.kinds for p in parts]),
            np.concatenate([p.names for p in parts]),
            [d for p in parts for d in p.props],
            [s for p in parts for s in p.sources],
            [w for p in parts for w in p.warnings],
            extent,
            [r for p in parts for r in p.rasters],
        )

    def place_name(self) -> str | None:
        """The most prominent place name in the data, for titles and prompts: the biggest place node,
        else the name of the feature the data is about (`subject_name`)."""
        rank = {"city": 0, "town": 1, "village": 2, "suburb": 3, "hamlet": 4}
        best: tuple[int, str] | None = None
        for kind, name, props in zip(self.kinds, self.names, self.props):
            if kind is Kind.PLACE and name:
                r = rank.get(str(props.get("place", "")), 5)
                if best is None or r < best[0]:
                    best = (r, name)
        return best[1] if best else self.subject_name()

    def subject_name(self) -> str | None:
        """The name of the feature the data is about, if one is: a named admin or generic (untagged) area
        holding at least half the area of all areas (a country outline, a county among its lakes), or, in
        data of generic features with no areas, a named line holding half the length (a drawn route), or
        a lone named feature. Features sharing a name count together (a country's islands)."""
        if len(self) == 0:
            return None
        geoms = self.geometries
        subject = np.array([k in SUBJECT_KINDS and bool(n) for k, n in zip(self.kinds, self.names)], bool)
        dims = shapely.get_dimensions(geoms)
        areas = (dims == 2) & np.array([k is not Kind.SEA for k in self.kinds], bool)
        if areas.any():
            # Degrees² shrink towards the poles: weigh each area by the cosine of its latitude.
            weight = shapely.area(geoms[areas]) * np.cos(np.radians(shapely.get_y(shapely.centroid(geoms[areas]))))
            return _dominant(self.names[areas], weight, subject[areas])
        if all(k in SUBJECT_KINDS for k in self.kinds):
            lines = dims == 1
            if lines.any():
                return _dominant(self.names[lines], shapely.length(geoms[lines]), subject[lines])
            if len(self) == 1 and subject[0]:
                return str(self.names[0])
        return None


# Kinds whose features may be what the data is about (their name is then the map's title).
SUBJECT_KINDS = frozenset({Kind.ADMIN, Kind.OTHER})


def _dominant(names: np.ndarray, weight: np.ndarray, eligible: np.ndarray) -> str | None:
    """The eligible name with at least half the total weight (summed over its features), if any."""
    total = float(np.nansum(weight))
    if not total > 0 or not eligible.any():
        return None
    sums: dict[str, float] = {}
    for name, w in zip(names[eligible], weight[eligible]):
        sums[str(name)] = sums.get(str(name), 0.0) + (float(w) if w == w else 0.0)
    name, best = max(sums.items(), key=lambda kv: kv[1])
    return name if best >= 0.5 * total else None
