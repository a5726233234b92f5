"""Where the drawn data lies on the canvas: groups far apart (a city extract and a hike 1,000 km away)
that leave the page mostly empty, and which features belong to each, so one group can be framed alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from app.carto.framing import lonlat_to_px, px_to_lonlat
from app.carto.rasters import pixel_boxes
from app.carto.scene import Scene
from app.mapdata.model import Kind, MapData

GRID = 48  # occupancy cells along the canvas' long side
GAP_CELLS = 4  # data closer than this many cells (~8% of the long side) is one group
EMPTY_SHARE = 0.2  # groups whose boxes cover less than this share of the map area leave the page mostly empty
MAX_GROUPS = 6  # more groups than this are scattered data (waypoints over a region), not far-apart places


@dataclass(eq=False)
class Group:
    box: tuple[float, float, float, float]  # pixels on the canvas it was found on (x0, y0, x1, y1)
    lonlat: tuple[float, float]  # the box's centre
    files: tuple[str, ...]  # input file names with features here, most features first
    rows: np.ndarray  # rows of the MapData in this group
    sources: tuple[int, ...] = ()  # indices into MapData.sources of those files, in file order
    pictures: tuple[int, ...] = ()  # indices into MapData.rasters of the pictures here (KML GroundOverlays)

    def label(self) -> str:
        """harbour_town.geojson near 59.3° N 18.1° E"""
        lon, lat = self.lonlat
        where = f"{abs(lat):.1f}° {'N' if lat >= 0 else 'S'} {abs(lon):.1f}° {'E' if lon >= 0 else 'W'}"
        what = ", ".join(self.files[:2]) + (f" and {len(self.files) - 2} more" if len(self.files) > 2 else "")
        if not what and self.pictures:
            what = f"{len(self.pictures)} picture{'s' if len(self.pictures) > 1 else ''}"
        return f"{what} near {where}" if what else f"data near {where}"

    @property
    def short(self) -> str:
        """What the window's Frame choice shows: the group's first file, or its place."""
        return self.files[0] if self.files else self.label()


def _occupied(scene: Scene, cell: float, shape: tuple[int, int]) -> np.ndarray:
    """Cells touched by the bounding box of a drawn feature (the sea left out: it fills the window by design)."""
    keep = np.array([k is not Kind.SEA for k in scene.kinds], bool)
    b = shapely.bounds(scene.geometries[keep])
    for r in scene.rasters:  # pictures (KML GroundOverlays) are drawn data too
        b = np.vstack([b, np.concatenate([r.mesh.min(axis=(0, 1)), r.mesh.max(axis=(0, 1))])])
    b = b[np.isfinite(b).all(axis=1)]
    rows, cols = shape
    grid = np.zeros((rows + 1, cols + 1), np.int64)
    if len(b):
        c0 = np.clip((b[:, 0] // cell).astype(np.int64), 0, cols - 1)
        r0 = np.clip((b[:, 1] // cell).astype(np.int64), 0, rows - 1)
        c1 = np.clip((b[:, 2] // cell).astype(np.int64), 0, cols - 1) + 1
        r1 = np.clip((b[:, 3] // cell).astype(np.int64), 0, rows - 1) + 1
        for r, c, v in ((r0, c0, 1), (r0, c1, -1), (r1, c0, -1), (r1, c1, 1)):  # summed-area corners
            np.add.at(grid, (r, c), v)
    return grid.cumsum(0).cumsum(1)[:rows, :cols] > 0


def _source_of_rows(data: MapData) -> np.ndarray | None:
    """For each row, the index of its source file (files are layered in order); None if that is unknown."""
    counts = [s.features for s in data.sources]
    if sum(counts) != len(data):
        return None
    return np.repeat(np.arange(len(counts)), counts)


def find_groups(scene: Scene, data: MapData) -> list[Group]:
    """The groups far apart that the drawn data falls into, when they leave the page mostly empty; else [].

    `scene` is `data` composed (its geometries in pixels). Groups come in the order of their first row,
    so group 1 holds the first file's data.
    """
    w, h = scene.size
    cell = max(w, h) / GRID
    shape = (max(1, int(np.ceil(h / cell))), max(1, int(np.ceil(w / cell))))
    occ = _occupied(scene, cell, shape)
    r, c = np.nonzero(occ)
    if len(r) < 2:
        return []
    pad = GAP_CELLS / 2
    blobs = shapely.get_parts(
        shapely.union_all(shapely.box(c - pad + 0.5, r - pad + 0.5, c + pad + 0.5, r + pad + 0.5))
    )
    if not 2 <= len(blobs) <= MAX_GROUPS:
        return []
    which = np.full(len(r), -1)
    for i, blob in enumerate(blobs):
        which[shapely.contains_xy(blob, c + 0.5, r + 0.5)] = i
    boxes = [(c[which == i].min(), r[which == i].min(), c[which == i].max() + 1, r[which == i].max() + 1)
             for i in range(len(blobs))]  # fmt: skip
    m = scene.frame.margin / cell
    map_area = max(shape[1] - 2 * m, 1) * max(shape[0] - 2 * m, 1)
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) >= EMPTY_SHARE * map_area:
        return []
    return _with_rows(scene, data, [tuple(float(v) * cell for v in b) for b in boxes])


def _picture_groups(scene: Scene, data: MapData, b: np.ndarray) -> np.ndarray:
    """For each picture (MapData.rasters), the group box it overlaps most, else the nearest; -1 off the map."""
    pics = pixel_boxes(data.rasters, scene.frame)
    if not len(pics):
        return np.empty(0, np.int64)
    ow = np.minimum(pics[:, None, 2], b[None, :, 2]) - np.maximum(pics[:, None, 0], b[None, :, 0])
    oh = np.minimum(pics[:, None, 3], b[None, :, 3]) - np.maximum(pics[:, None, 1], b[None, :, 1])
    overlap = np.where(np.isfinite(ow + oh), np.maximum(ow, 0) * np.maximum(oh, 0), 0.0)
    dx = np.maximum(np.maximum(b[None, :, 0] - pics[:, None, 2], pics[:, None, 0] - b[None, :, 2]), 0)
    dy = np.maximum(np.maximum(b[None, :, 1] - pics[:, None, 3], pics[:, None, 1] - b[None, :, 3]), 0)
    gap = np.where(np.isfinite(dx + dy), np.hypot(dx, dy), np.inf)
    which = np.where(overlap.max(axis=1) > 0, np.argmax(overlap, axis=1), np.argmin(gap, axis=1))
    return np.where(np.isfinite(pics).all(axis=1), which, -1)


def _with_rows(scene: Scene, data: MapData, boxes: list[tuple[float, float, float, float]]) -> list[Group]:
    """Each row goes to the group nearest to its first vertex on the canvas; each picture to the group it
    overlaps most (else the nearest)."""
    coords, idx = shapely.get_coordinates(data.geometries, return_index=True)
    rows, first = np.unique(idx, return_index=True)
    col, row = lonlat_to_px(scene.frame, coords[first, 0], coords[first, 1])
    b = np.array(boxes)
    dx = np.maximum(np.maximum(b[:, 0][None] - col[:, None], col[:, None] - b[:, 2][None]), 0)
    dy = np.maximum(np.maximum(b[:, 1][None] - row[:, None], row[:, None] - b[:, 3][None]), 0)
    dist = np.where(np.isfinite(dx + dy), np.hypot(dx, dy), np.inf)
    nearest = np.argmin(dist, axis=1)
    pictures = _picture_groups(scene, data, b)
    source = _source_of_rows(data)
    names = [Path(s.path).name for s in data.sources]
    groups = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        mine = rows[nearest == i]
        pics = tuple(int(j) for j in np.flatnonzero(pictures == i))
        if not len(mine) and not pics:
            continue
        parts = [data.rasters[j].bounds() for j in pics]  # lon/lat: the group's features and pictures
        if len(mine):
            parts.append(tuple(shapely.total_bounds(data.geometries[mine])))
        p = np.array(parts, float)
        bx0, by0, bx1, by1 = p[:, 0].min(), p[:, 1].min(), p[:, 2].max(), p[:, 3].max()
        lon, lat = (bx0 + bx1) / 2, (by0 + by1) / 2
        if not (np.isfinite(lon) and np.isfinite(lat)) or bx1 - bx0 > 180.0:  # around the antimeridian
            lon, lat = (v[0] for v in px_to_lonlat(scene.frame, np.array([(x0 + x1) / 2]), np.array([(y0 + y1) / 2])))
        files: tuple[str, ...] = ()
        ids: np.ndarray = np.empty(0, np.int64)
        if source is not None:
            ids, n = np.unique(source[mine], return_counts=True)
            files = tuple(names[j] for j in ids[np.argsort(-n, kind="stable")])
        groups.append(Group((x0, y0, x1, y1), (float(lon), float(lat)), files, mine, tuple(int(j) for j in ids),
                            pics))  # fmt: skip
    groups.sort(key=lambda g: int(g.rows[0]) if len(g.rows) else len(data) + g.pictures[0])  # pictures-only last
    return groups if len(groups) >= 2 else []


def far_apart_message(groups: list[Group]) -> str:
    """the data falls into 2 groups far apart (a.geojson near …; b.gpx near …): the map is mostly empty"""
    where = "; ".join(g.label() for g in groups)
    return f"the data falls into {len(groups)} groups far apart ({where}): the map is mostly empty"
