"""GPX 1.0 / 1.1: tracks and routes → TRACK, waypoints → POI (GDAL's GPX driver, after an entity check)."""

from __future__ import annotations

import numpy as np
import shapely

from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import read_all_layers
from app.mapdata.safety import check_xml_file

_LAYERS = {"waypoints": Kind.POI, "routes": Kind.TRACK, "tracks": Kind.TRACK}


def _drop_empty_parts(geoms: np.ndarray) -> np.ndarray:
    """Tracks with empty <trkseg/> come back as MULTILINESTRING (..., EMPTY, ...): keep only real segments."""
    present = ~shapely.is_missing(geoms)
    parts, idx = shapely.get_parts(geoms[present], return_index=True)
    keep = ~shapely.is_empty(parts) & (shapely.get_num_coordinates(parts) >= 2)
    rebuilt = np.full(int(present.sum()), None, object)
    if keep.any():
        groups, inverse = np.unique(idx[keep], return_inverse=True)
        rebuilt[groups] = shapely.multilinestrings(parts[keep], indices=inverse)
    out = np.full(len(geoms), None, object)
    out[present] = rebuilt
    return out


def read_gpx(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    check_xml_file(path)
    skip = ("route_points", "track_points")
    parts = []
    for name, raw in read_all_layers(path, limits=limits, progress=progress, cancel=cancel, skip=skip):
        kind = _LAYERS.get(name)
        if kind is None:
            continue
        if kind is Kind.TRACK:
            raw.geometries = _drop_empty_parts(raw.geometries)
        raw.kinds = [kind] * len(raw)
        for p in raw.props:
            p["gpx"] = name.removesuffix("s")
        parts.append(raw)
    return RawFeatures.concat(parts)
