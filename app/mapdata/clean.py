"""Vectorised geometry clean-up: keep what can be kept, drop (and say why) what cannot.

Coordinates a rounding error outside the valid range (Natural Earth's 180.00000000000006) are clamped;
lines and polygons crossing the antimeridian (a ring going 179.9 → -179.9, or written unwrapped as
170 → 190) are split at ±180° with each side normalised into range; NaN, infinite and really
out-of-range coordinates drop their feature, with the reason. Then: force 2D, repair polygons, split
mixed collections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from app.mapdata.limits import Limits


@dataclass
class Cleaned:
    geometries: np.ndarray  # object array, no None/empty, all coordinates finite and in range
    index: np.ndarray  # for each output geometry, the input row it came from (collections may split)
    missing: int  # input rows without geometry
    invalid: int  # input rows dropped for NaN/inf/out-of-range coordinates
    reasons: dict[int, str] = field(default_factory=dict)  # input row → why it was dropped (the `invalid` ones)
    clamped: int = 0  # rows with coordinates a rounding error out of range, clamped
    wrapped: int = 0  # rows crossing the antimeridian, split at ±180°


def _why_bad(x: float, y: float, limits: Limits) -> str:
    for axis, v, (lo, hi) in (("longitude", x, limits.lon_range), ("latitude", y, limits.lat_range)):
        if np.isnan(v):
            return f"{axis} is not a number"
        if np.isinf(v):
            return f"{axis} is infinite"
        if not lo <= v <= hi:
            return f"{axis} {v:.10g} out of range"
    return "bad coordinates"


def _coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return shapely.get_coordinates(geoms, return_index=True)


REASONS_KEPT = 100  # bad rows whose reason is put in words (a warning names only the first few)


def bad_coordinate_reasons(geoms: np.ndarray, limits: Limits, coords=None) -> tuple[np.ndarray, dict[int, str]]:
    """Rows with a NaN, infinite or out-of-range coordinate (a mask), and for the first REASONS_KEPT of them
    the first such coordinate, in words."""
    coords, idx = coords or _coordinates(geoms)
    with np.errstate(invalid="ignore"):
        x, y = coords[:, 0], coords[:, 1]
        bad = ~(np.isfinite(x) & np.isfinite(y))
        bad |= (x < limits.lon_range[0]) | (x > limits.lon_range[1])
        bad |= (y < limits.lat_range[0]) | (y > limits.lat_range[1])
    rows, first = np.unique(idx[bad], return_index=True)
    mask = np.zeros(len(geoms), bool)
    mask[rows] = True
    at = np.flatnonzero(bad)[first[:REASONS_KEPT]]
    return mask, {int(r): _why_bad(float(x[i]), float(y[i]), limits) for r, i in zip(rows, at)}


def _clamp_rounding(geoms: np.ndarray, limits: Limits, coords) -> tuple[np.ndarray, int]:
    """Clamp coordinates within `limits.coord_tolerance` outside the valid range (float rounding) into it."""
    tol = limits.coord_tolerance
    coords, idx = coords
    (x0, x1), (y0, y1) = limits.lon_range, limits.lat_range
    with np.errstate(invalid="ignore"):
        x, y = coords[:, 0], coords[:, 1]
        near = ((x < x0) & (x >= x0 - tol)) | ((x > x1) & (x <= x1 + tol))
        near |= ((y < y0) & (y >= y0 - tol)) | ((y > y1) & (y <= y1 + tol))
    if not near.any():
        return geoms, 0
    rows = np.unique(idx[near])

    def clamp(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        with np.errstate(invalid="ignore"):
            for col, lo, hi in ((0, x0, x1), (1, y0, y1)):
                v = out[:, col]
                v[(v < lo) & (v >= lo - tol)] = lo
                v[(v > hi) & (v <= hi + tol)] = hi
        return out

    geoms = geoms.copy()
    geoms[rows] = shapely.transform(geoms[rows], clamp, include_z=False)
    return geoms, len(rows)


_LINES_AND_POLYGONS = (1, 2, 3, 5, 6)  # LineString, LinearRing, Polygon, MultiLineString, MultiPolygon


def _crossing_rows(geoms: np.ndarray, limits: Limits, coords) -> np.ndarray:
    """Rows of lines/polygons that may cross the antimeridian: an edge jumping more than 180° of longitude,
    or longitudes written unwrapped past ±180° (up to one turn) beside longitudes in range."""
    lo, hi = limits.lon_range
    if hi - lo != 360.0:
        return np.empty(0, np.int64)
    coords, idx = coords
    if len(coords) < 2:
        return np.empty(0, np.int64)
    with np.errstate(invalid="ignore"):
        x = coords[:, 0]
        jump = (idx[1:] == idx[:-1]) & (np.abs(np.diff(x)) > 180.0)
        outside = (x < lo) | (x > hi)
        wild = ~np.isfinite(coords).all(axis=1) | (np.abs(x) > 360.0) | (np.abs(coords[:, 1]) > 90.0)
    n = len(geoms)
    has = lambda m, i=idx: np.bincount(i[m], minlength=n) > 0  # noqa: E731
    inside_any = has(~outside & ~wild)
    cand = has(np.concatenate([jump, [False]])) | (has(outside) & inside_any)
    cand &= ~has(wild) & np.isin(shapely.get_type_id(geoms), _LINES_AND_POLYGONS)
    return np.flatnonzero(cand)


def _unwrap(xy: np.ndarray, closed: bool) -> np.ndarray | None:
    """Longitudes made continuous (each edge takes the short way round); None for a closed ring that
    does not close once unwrapped (it circles a pole, like Antarctica drawn from -180 to 180)."""
    d = np.diff(xy[:, 0])
    step = np.where(np.abs(d) > 180.0, -360.0 * np.sign(d), 0.0)
    shift = np.concatenate([[0.0], np.cumsum(step)])
    if closed and shift[-1] != 0.0:
        return None
    out = xy[:, :2].copy()
    out[:, 0] += shift
    return out


def _unwrapped(geom) -> shapely.Geometry | None:
    """The geometry with continuous longitudes (may run past ±180°); None when that makes no sense."""
    t = shapely.get_type_id(geom)
    if t in (1, 2):
        xy = _unwrap(shapely.get_coordinates(geom), closed=False)
        return shapely.linestrings(xy)
    if t == 3:
        ext = _unwrap(shapely.get_coordinates(geom.exterior), closed=True)
        if ext is None:
            return None
        holes = []
        for ring in geom.interiors:
            h = _unwrap(shapely.get_coordinates(ring), closed=True)
            if h is None:
                return None
            h[:, 0] += 360.0 * np.round((ext[:, 0].mean() - h[:, 0].mean()) / 360.0)  # beside its exterior
            holes.append(h)
        return shapely.make_valid(shapely.polygons(ext, holes=holes or None))
    parts = [_unwrapped(g) for g in shapely.get_parts(geom)]
    if any(p is None for p in parts):
        return None
    return shapely.union_all(np.array(parts, object)) if t == 6 else shapely.multilinestrings(parts)


def _split_at_antimeridian(geom, limits: Limits):
    """Cut a geometry crossing ±180° there and move each side into range; None when it need not or cannot be."""
    lo, hi = limits.lon_range
    flat = _unwrapped(geom)
    if flat is None or flat.is_empty:
        return None
    x_min, _, x_max, _ = shapely.bounds(flat)
    if lo <= x_min and x_max <= hi:
        return None  # nothing crosses: parts on either side of ±180° (Fiji in Natural Earth) are already split
    y0, y1 = limits.lat_range
    pieces = []
    for k in (-1, 0, 1):
        part = shapely.intersection(flat, shapely.box(lo + 360.0 * k, y0, hi + 360.0 * k, y1))
        if not part.is_empty:
            pieces.extend(shapely.get_parts(shapely.transform(part, lambda xy, k=k: xy - (360.0 * k, 0.0))))
    dim = shapely.get_dimensions(geom)
    pieces = [p for p in pieces if shapely.get_dimensions(p) == dim and not p.is_empty]
    if not pieces:
        return None
    return shapely.multipolygons(pieces) if dim == 2 else shapely.multilinestrings(pieces)


def _wrap_antimeridian(geoms: np.ndarray, limits: Limits, coords) -> tuple[np.ndarray, int]:
    rows = _crossing_rows(geoms, limits, coords)
    if not len(rows):
        return geoms, 0
    geoms, done = geoms.copy(), 0
    for r in rows:
        try:
            split = _split_at_antimeridian(geoms[r], limits)
        except shapely.errors.GEOSException:
            split = None
        if split is not None:
            geoms[r], done = split, done + 1
    return geoms, done


def _repair_polygons(geoms: np.ndarray) -> np.ndarray:
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    broken = polygonal & ~shapely.is_valid(geoms)
    if broken.any():
        geoms = geoms.copy()
        geoms[broken] = shapely.make_valid(geoms[broken], method="structure", keep_collapsed=False)
    return geoms


def _split_collections(geoms: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace each GeometryCollection by one Multi* geometry per dimension it holds."""
    is_gc = shapely.get_type_id(geoms) == 7
    if not is_gc.any():
        return geoms, rows
    parts, part_row = shapely.get_parts(geoms[is_gc], return_index=True)
    # nested collections: flatten once more
    while (nested := shapely.get_type_id(parts) == 7).any():
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        part_row = np.concatenate([part_row[~nested], part_row[nested][sub_idx]])
    parts, sub_idx = shapely.get_parts(parts, return_index=True)  # explode Multi* parts too
    part_row = part_row[sub_idx]
    keep = ~shapely.is_empty(parts)
    parts, part_row = parts[keep], part_row[keep]
    dim = shapely.get_dimensions(parts)
    gc_rows = rows[is_gc]
    new_geoms, new_rows = [], []
    builders = {0: shapely.multipoints, 1: shapely.multilinestrings, 2: shapely.multipolygons}
    for d, build in builders.items():
        sel = dim == d
        if not sel.any():
            continue
        groups, inverse = np.unique(part_row[sel], return_inverse=True)
        new_geoms.append(build(parts[sel], indices=inverse))
        new_rows.append(gc_rows[groups])
    out_g = np.concatenate([geoms[~is_gc], *new_geoms])
    out_r = np.concatenate([rows[~is_gc], *new_rows])
    order = np.argsort(out_r, kind="stable")
    return out_g[order], out_r[order]


def clean_geometries(geoms: np.ndarray, limits: Limits) -> Cleaned:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms = np.where(missing, None, geoms)
    coords = _coordinates(geoms)  # one pass over the vertices; again only when a step changed some
    geoms, clamped = _clamp_rounding(geoms, limits, coords)
    coords = _coordinates(geoms) if clamped else coords
    geoms, wrapped = _wrap_antimeridian(geoms, limits, coords)
    bad, reasons = bad_coordinate_reasons(geoms, limits, None if wrapped else coords)
    bad &= ~missing
    keep = ~(missing | bad)
    rows = np.flatnonzero(keep)
    g = geoms[rows]
    has_z = shapely.has_z(g)
    if has_z.any():
        g = g.copy()
        g[has_z] = shapely.force_2d(g[has_z])
    g = _repair_polygons(g)
    g, rows = _split_collections(g, rows)
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    g, rows = g[ok], rows[ok]
    lost = np.setdiff1d(np.flatnonzero(keep), rows)  # rows that lost every part in repair
    reasons = {r: why for r, why in reasons.items() if not missing[r]}
    reasons.update({int(r): "its geometry is degenerate (nothing is left once repaired)" for r in lost})
    return Cleaned(g.astype(object), rows, int(missing.sum()), int(bad.sum()) + len(lost),
                   dict(sorted(reasons.items())), clamped, wrapped)  # fmt: skip
