"""Vectorised geometry clean-up: drop bad coordinates, force 2D, repair polygons, split mixed collections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from app.mapdata.limits import Limits


@dataclass
class Cleaned:
    geometries: np.ndarray  # object array, no None/empty, all coordinates finite and in range
    index: np.ndarray  # for each output geometry, the input row it came from (collections may split)
    missing: int  # input rows without geometry
    invalid: int  # input rows dropped for NaN/inf/out-of-range coordinates


def bad_coordinate_rows(geoms: np.ndarray, limits: Limits) -> np.ndarray:
    """Boolean mask of rows having any NaN, infinite or out-of-range coordinate."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    with np.errstate(invalid="ignore"):
        x, y = coords[:, 0], coords[:, 1]
        bad = ~(np.isfinite(x) & np.isfinite(y))
        bad |= (x < limits.lon_range[0]) | (x > limits.lon_range[1])
        bad |= (y < limits.lat_range[0]) | (y > limits.lat_range[1])
    mask = np.zeros(len(geoms), bool)
    mask[idx[bad]] = True
    return mask


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
    bad = bad_coordinate_rows(geoms, limits) & ~missing
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
    return Cleaned(g.astype(object), rows, int(missing.sum()), int(bad.sum()) + len(lost))
