"""GPX 1.0 / 1.1: tracks and routes → TRACK, waypoints → POI (GDAL's GPX driver, after an entity check)."""

from __future__ import annotations

import numpy as np
import pyogrio
import shapely
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from pyogrio import raw as ogr_raw

from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import OGR_ERRORS, read_all_layers
from app.mapdata.safety import check_xml_file
from app.mapdata.titles import climb

_LAYERS = {"waypoints": Kind.POI, "routes": Kind.TRACK, "tracks": Kind.TRACK}
_PAST_HEADER = {"wpt", "rte", "trk", "metadata", "extensions"}  # a GPX's header (and its <name>) ends before these


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


PROFILE_POINTS = 2000  # at most this many samples kept for a track's elevation profile
ELEVATION_RANGE = (-450.0, 9000.0)  # m: an <ele> outside this is a device's placeholder, not a height


def _elevations(path, layer: str, n: int) -> list[tuple[float, dict] | None]:
    """(climb in m, profile) of each of a layer's `n` tracks or routes from their points' <ele> (GDAL leaves
    them out of the lines; points without one are skipped); None for one without elevations. The profile is
    {"distance_m": cumulative geodesic distance along the points, "elevation_m": their heights}, both float32
    arrays of at most PROFILE_POINTS samples (the lowest and highest kept), for the overlay's profile strip
    (app/render/tracks.py); clean-up makes the geometry 2D, so the heights travel in the props."""
    fid, seg = ("track_fid", "track_seg_id") if layer == "tracks" else ("route_fid", None)
    try:
        meta, _, wkb, cols = ogr_raw.read(str(path), layer=layer[:-1] + "_points",
                                          columns=[c for c in (fid, seg, "ele") if c])  # fmt: skip
    except OGR_ERRORS:
        return [None] * n
    col = dict(zip(meta["fields"], cols))
    owner, ele = np.asarray(col[fid], np.int64), np.asarray(col["ele"], float)
    part = np.asarray(col[seg], np.int64) if seg else np.zeros(len(owner), np.int64)
    xy = shapely.get_coordinates(shapely.from_wkb(wkb)) if wkb is not None else np.empty((0, 2))
    if len(xy) != len(owner):  # a point without coordinates: no distances to lay the heights along
        xy = None
    ele[(ele < ELEVATION_RANGE[0]) | (ele > ELEVATION_RANGE[1])] = np.nan
    out: list[tuple[float, dict] | None] = [None] * n
    for f in np.unique(owner[(owner >= 0) & (owner < n)]).tolist():
        mine = owner == f
        if np.isfinite(ele[mine]).sum() >= 2:
            gain = sum(climb(ele[mine & (part == s)]) for s in np.unique(part[mine]).tolist())
            out[f] = (gain, _profile(xy[mine], part[mine], ele[mine]) if xy is not None else None)
    return out


def _profile(xy: np.ndarray, part: np.ndarray, ele: np.ndarray) -> dict | None:
    """Cumulative distance (m, along each segment; the gap between segments not counted) and heights of the
    points that have one."""
    from pyproj import Geod

    _, _, step = Geod(ellps="WGS84").inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    step = np.where(part[1:] == part[:-1], np.nan_to_num(np.asarray(step, float)), 0.0)
    dist = np.concatenate([[0.0], np.cumsum(step)])
    ok = np.isfinite(ele)
    dist, ele = dist[ok], ele[ok]
    if len(ele) < 2 or dist[-1] <= 0:
        return None
    if len(ele) > PROFILE_POINTS:
        keep = np.unique(np.r_[np.linspace(0, len(ele) - 1, PROFILE_POINTS).round(), ele.argmin(), ele.argmax()])
        dist, ele = dist[keep.astype(int)], ele[keep.astype(int)]
    return {"distance_m": dist.astype(np.float32), "elevation_m": ele.astype(np.float32)}


def _document_name(path) -> str | None:
    """<metadata><name> of a GPX 1.1 file (GDAL's dataset metadata), else GPX 1.0's <gpx><name>."""
    try:
        name = (pyogrio.read_info(str(path), layer="tracks").get("dataset_metadata") or {}).get("NAME")
    except OGR_ERRORS:
        name = None
    if not isinstance(name, str) or not name.strip():
        name = _header_name(path)
    return (" ".join(name.split()) or None) if isinstance(name, str) else None


def _header_name(path) -> str | None:
    """GPX 1.0's <gpx><name>, which GDAL does not keep: read with defusedxml from the header, which comes before
    the first waypoint, route or track (the walk stops there, so a big file costs nothing)."""
    depth = 0
    try:
        with open(path, "rb") as f:
            for event, el in iterparse(f, events=("start", "end"), forbid_dtd=True):
                tag = el.tag.rsplit("}", 1)[-1]
                if event == "start":
                    depth += 1
                    if depth == 2 and tag in _PAST_HEADER:
                        return None
                    continue
                depth -= 1
                if depth == 1 and tag == "name":
                    return el.text
    except (ParseError, DefusedXmlException, LookupError, ValueError, OSError):  # GDAL read it: be lenient here
        return None
    return None


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
            for p, e in zip(raw.props, _elevations(path, name, len(raw))):
                if e is not None:
                    p["climb_m"] = round(e[0], 1)
                    if e[1] is not None:
                        p["_profile"] = e[1]
        raw.kinds = [kind] * len(raw)
        for p in raw.props:
            p["gpx"] = name.removesuffix("s")
        parts.append(raw)
    out = RawFeatures.concat(parts)
    out.name = _document_name(path)
    return out
