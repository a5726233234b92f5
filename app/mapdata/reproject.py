"""Bring RawFeatures to lon/lat (EPSG:4326) with pyproj, vectorised through shapely.transform."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from app.errors import InputError
from app.mapdata.readers import RawFeatures

_WGS84 = CRS.from_epsg(4326)
_CRS84 = CRS.from_user_input("OGC:CRS84")


def crs_label(crs: str | None) -> str:
    """A short name for SourceInfo: "EPSG:xxxx" when there is one, else the CRS name."""
    if not crs:
        return "EPSG:4326"
    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        return str(crs)[:80]
    code = c.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code else c.name


def is_lonlat(crs: str | None) -> bool:
    if not crs:
        return True
    c = CRS.from_user_input(crs)
    return c in (_WGS84, _CRS84) or c.to_epsg(min_confidence=90) == 4326


def to_lonlat(raw: RawFeatures, path) -> RawFeatures:
    """Reproject in place (returns `raw`); coordinates that fail to transform become inf and are dropped later."""
    try:
        if is_lonlat(raw.crs):
            raw.crs = None
            return raw
        transformer = Transformer.from_crs(CRS.from_user_input(raw.crs), _WGS84, always_xy=True)
    except (CRSError, ProjError) as e:
        raise InputError(f"the file's coordinate system is not understood ({e})", path=path) from None

    def fn(x, y):
        with np.errstate(all="ignore"):
            return transformer.transform(x, y, errcheck=False)

    geoms = raw.geometries
    present = ~shapely.is_missing(geoms)
    out = geoms.copy()
    out[present] = shapely.transform(geoms[present], fn, interleaved=False)
    raw.geometries = out
    raw.crs = None
    return raw
