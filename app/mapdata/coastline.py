"""OSM coastline ways → sea polygons inside the extract bounds.

OSM draws coastlines with land on the LEFT and sea on the RIGHT. We cut the bounds box into faces
along the coastlines, then let every coastline segment vote: a point just right of it is sea, a
point just left is land. Each face takes the majority of the votes that land in it.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box


def _segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment of the (directed) lines."""
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    return coords[:-1][same], coords[1:][same]


def sea_polygons(coastlines: np.ndarray, bounds: tuple[float, float, float, float]) -> shapely.Geometry | None:
    """The sea inside `bounds` as one (Multi)Polygon, or None when the coastlines decide nothing."""
    coastlines = coastlines[~shapely.is_missing(coastlines) & ~shapely.is_empty(coastlines)]
    if not len(coastlines):
        return None
    frame = box(*bounds)
    if frame.area <= 0:
        return None
    merged = shapely.line_merge(shapely.multilinestrings(shapely.get_parts(coastlines)), directed=True)
    inside = shapely.intersection(merged, frame)
    if inside.is_empty:
        return None
    noded = shapely.union_all([frame.boundary, inside])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if not len(faces):
        return None

    a, b = _segments(shapely.get_parts(merged))
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    ok = length > 0
    a, d, length = a[ok], d[ok], length[ok]
    mid = a + d / 2
    size = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    eps = np.minimum(length * 0.25, size * 1e-5)[:, None]
    right = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]
    sea_pts = shapely.points(mid + right * eps)
    land_pts = shapely.points(mid - right * eps)

    tree = shapely.STRtree(faces)
    votes = np.zeros(len(faces))
    for pts, sign in ((sea_pts, 1.0), (land_pts, -1.0)):
        _, face_idx = tree.query(pts, predicate="within")
        np.add.at(votes, face_idx, sign)
    sea = faces[votes > 0]
    if not len(sea):
        return None
    return shapely.union_all(sea)
