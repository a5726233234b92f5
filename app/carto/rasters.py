"""Rasters (GroundOverlay pictures) onto the canvas: a grid over each image, its points projected like any
vertex. Drawing the image through that mesh (app/render/imagery.py) bends it with the projection, so a big
overlay follows the map's curved graticule and a small one is exact to a fraction of a pixel."""

from __future__ import annotations

import math

import numpy as np

from app.carto.framing import lonlat_to_px
from app.carto.scene import Frame, PlacedRaster
from app.mapdata.model import Raster

MAX_GRID = 24  # cells a side, for an overlay of a continent
CELL_DEG = 0.5  # one cell per half degree, at least 2 a side


def _grid(r: Raster) -> int:
    x0, y0, x1, y1 = r.bounds()
    return int(min(MAX_GRID, max(2, math.ceil(max(x1 - x0, y1 - y0) / CELL_DEG))))


def _lonlat_mesh(corners: np.ndarray, g: int) -> np.ndarray:
    """(g+1, g+1, 2) lon/lat: the image's grid mapped bilinearly onto its four corners (LL, LR, UR, UL)."""
    ll, lr, ur, ul = corners
    t = np.linspace(0.0, 1.0, g + 1)
    u, v = t[None, :, None], t[:, None, None]  # u along the columns, v down the rows
    top = ul + (ur - ul) * u
    bottom = ll + (lr - ll) * u
    return top + (bottom - top) * v


def _mesh_px(r: Raster, frame: Frame) -> np.ndarray:
    """(g+1, g+1, 2) pixels: the raster's grid on the canvas (NaN where the projection has no place for it)."""
    ll = _lonlat_mesh(np.asarray(r.corners, float), _grid(r))
    col, row = lonlat_to_px(frame, ll[..., 0], ll[..., 1])
    return np.stack([np.asarray(col, float), np.asarray(row, float)], axis=-1)


def pixel_boxes(rasters: list[Raster], frame: Frame) -> np.ndarray:
    """(n, 4) x0, y0, x1, y1: where each raster lands on the canvas, in the list's order; NaN for one that does
    not (beyond the projection's world)."""
    out = np.full((len(rasters), 4), np.nan)
    for i, r in enumerate(rasters):
        mesh = _mesh_px(r, frame).reshape(-1, 2)
        if np.isfinite(mesh).all():
            out[i] = (*mesh.min(axis=0), *mesh.max(axis=0))
    return out


def place_rasters(rasters: list[Raster], frame: Frame) -> list[PlacedRaster]:
    """The rasters that touch the canvas, bottom first, with their meshes in pixels."""
    out = []
    for r in sorted(rasters, key=lambda r: r.order):
        mesh = _mesh_px(r, frame)
        if not np.isfinite(mesh).all():
            continue  # beyond the projection's world (the far side of an orthographic globe)
        lo, hi = mesh.reshape(-1, 2).min(axis=0), mesh.reshape(-1, 2).max(axis=0)
        if hi[0] < 0 or hi[1] < 0 or lo[0] > frame.width or lo[1] > frame.height:
            continue
        out.append(PlacedRaster(r.image, mesh))
    return out
