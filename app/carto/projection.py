"""Choosing a projection for the data: local conformal for cities, equal-area for continents.

Longitudes are treated as a circle: the data occupies the shortest arc that holds all of its
longitudes, so data around the antimeridian (Fiji, Chukotka) is centred near 180° and stays
one compact area.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

# Above this extent (degrees of longitude arc or latitude) the data spans continents.
WORLD_EXTENT_DEG = 40.0
# An occupied arc this wide is "the whole world": centre on Greenwich.
GLOBAL_ARC_DEG = 270.0
# Data this wide that reaches this close to a pole is framed up to that pole: the projection's outline of the
# globe is then drawn whole, never cut flat where the data happens to stop (Natural Earth ends at 83.6° N).
GLOBE_ARC_DEG = 300.0
POLE_REACH_DEG = 30.0


_local = threading.local()


def transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached Transformer for this thread (they are costly to build, and not safe to share between threads).

    Re-rendering the same map (every style change in the window) then skips PROJ's set-up entirely.
    """
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (src, dst)
    t = cache.get(key)
    if t is None:
        if len(cache) > 32:
            cache.clear()
        t = cache[key] = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return t


@dataclass(frozen=True)
class Projection:
    """The projection chosen for a data set, and the data's lon/lat window in it."""

    crs: str  # PROJ string
    kind: str  # "local" (transverse Mercator) | "world" (Equal Earth)
    lon_0: float
    lat_0: float
    # Data window in lon/lat with longitudes unwrapped around lon_0 (min_lon may be < -180, max_lon > 180).
    window: tuple[float, float, float, float]

    @property
    def crosses_antimeridian(self) -> bool:
        return self.window[0] < -180.0 or self.window[2] > 180.0

    def transformer(self) -> pyproj.Transformer:
        return transformer("EPSG:4326", self.crs)

    def inverse(self) -> pyproj.Transformer:
        return transformer(self.crs, "EPSG:4326")

    def unwrap(self, lon: np.ndarray) -> np.ndarray:
        """Longitudes moved into [lon_0 - 180, lon_0 + 180)."""
        return (np.asarray(lon, float) - self.lon_0 + 180.0) % 360.0 - 180.0 + self.lon_0


def occupied_arc(lons: np.ndarray) -> tuple[float, float]:
    """The shortest longitude arc (west, east) holding every longitude; east may exceed 180."""
    lons = np.asarray(lons, float)
    lons = lons[np.isfinite(lons)]
    if lons.size == 0:
        return 0.0, 0.0
    # Rounding to ~10 m keeps the sort cheap for millions of vertices without changing the answer.
    u = np.unique(np.round(((lons + 180.0) % 360.0) - 180.0, 4))
    if u.size == 1:
        return float(u[0]), float(u[0])
    gaps = np.diff(np.concatenate([u, [u[0] + 360.0]]))
    i = int(np.argmax(gaps))
    if i == u.size - 1:  # the largest gap wraps over the antimeridian: an ordinary window
        return float(u[0]), float(u[-1])
    west, east = float(u[i + 1]), float(u[i] + 360.0)
    return west, east


def choose_projection(bounds: tuple[float, float, float, float], lons: np.ndarray | None = None) -> Projection:
    """Pick the projection for data with lon/lat `bounds` and vertex longitudes `lons` (optional).

    A window under 180° wide is taken as is. A wider one is re-read from the vertex longitudes as the
    shortest arc that holds them: islands on both sides of the antimeridian (-179..179) become 177..183.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    west, east = minx, maxx
    if maxx - minx > 180.0:
        vertex_lons = np.asarray(lons, float) if lons is not None else np.empty(0)
        west, east = occupied_arc(vertex_lons) if vertex_lons.size else (-180.0, 180.0)
        # Every vertex on one meridian yet a window over 180° wide: outlines drawn from -180 to 180.
        if east - west >= GLOBAL_ARC_DEG or east - west < 1e-9:
            west, east = -180.0, 180.0
    arc = east - west
    lon_c = (0.5 * (west + east) + 180.0) % 360.0 - 180.0
    lat_c = 0.5 * (miny + maxy)
    if arc > WORLD_EXTENT_DEG or (maxy - miny) > WORLD_EXTENT_DEG:
        if arc > GLOBE_ARC_DEG:
            maxy = 90.0 if maxy > 90.0 - POLE_REACH_DEG else maxy
            miny = -90.0 if miny < -90.0 + POLE_REACH_DEG else miny
        lon_0 = round(lon_c, 1)
        crs = f"+proj=eqearth +lon_0={lon_0:g} +datum=WGS84 +units=m +no_defs"
        return Projection(crs, "world", lon_0, 0.0, _window(west, miny, east, maxy, lon_0))
    lat_0 = float(np.clip(lat_c, -89.0, 89.0))
    crs = f"+proj=tmerc +lat_0={lat_0:.6f} +lon_0={lon_c:.6f} +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    return Projection(crs, "local", lon_c, lat_0, _window(west, miny, east, maxy, lon_c))


def _window(west: float, south: float, east: float, north: float, lon_0: float) -> tuple[float, float, float, float]:
    """The window with its longitudes unwrapped around lon_0 (kept continuous)."""
    width = east - west
    mid = ((0.5 * (west + east)) - lon_0 + 180.0) % 360.0 - 180.0 + lon_0
    return (mid - width / 2, south, mid + width / 2, north)


def split_at_seam(geoms: np.ndarray, proj: Projection) -> np.ndarray:
    """Cut world-scale geometries where the map's edge meridian (lon_0 ± 180) runs through them.

    World data (Natural Earth and the like) is drawn planar from -180 to 180; in a world projection
    centred elsewhere, a polygon spanning that seam would fold over the whole map. Local projections
    need nothing: PROJ takes every vertex the short way round, which is right for GPS tracks.
    """
    if proj.kind != "world" or proj.lon_0 % 360.0 == 0.0:
        return geoms
    seam = (proj.lon_0 + 180.0 + 180.0) % 360.0 - 180.0
    b = shapely.bounds(geoms)
    cross = (b[:, 0] < seam) & (b[:, 2] > seam)
    if not cross.any():
        return geoms
    eps = 1e-7
    left = shapely.clip_by_rect(geoms[cross], -180.0, -90.0, seam - eps, 90.0)
    right = shapely.clip_by_rect(geoms[cross], seam + eps, -90.0, 180.0, 90.0)
    out = geoms.copy()
    out[cross] = shapely.union(left, right)
    return out
