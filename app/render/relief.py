"""Relief on the map's canvas: a DEM resampled onto the Scene's frame, its slopes and a multi-directional hillshade.

Arrays live on a grid a little coarser than the canvas (at most MAX_GRID px on the long side, and no finer than the
DEM's own pixels); `at_canvas` brings one up to the picture's size. Each style paints the relief its own way
(app/styles/relief.py); the structure image the AI engines see is shaded by `shade_structure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.carto.framing import px_to_lonlat
from app.carto.scene import Frame
from app.jobs.cancel import NEVER, CancelToken
from app.mapdata.model import Kind
from app.sources.terrain import Dem, mercator_px

F32 = np.float32
MAX_GRID = 1600  # px on the grid's long side
MESH = 8  # grid px between the points projected exactly (the rest is interpolated: the projection is smooth)
ALTITUDE = 45.0  # degrees: the sun's height for the hillshade
FLAT = math.sin(math.radians(ALTITUDE))  # the hillshade of level ground
EARTH_M = 40075016.686  # the equator's length
FLAT_WATER = (Kind.SEA, Kind.WATER)  # areas whose surface is level: no relief drawn on them


@dataclass
class Relief:
    """The terrain under the map, on a grid of `grid_shape` over the `width` × `height` canvas."""

    width: int
    height: int
    elevation: np.ndarray  # float32 metres
    zx: np.ndarray  # float32 rise per metre to the picture's right
    zy: np.ndarray  # float32 rise per metre downwards on the picture
    shade: np.ndarray  # float32 0..1 multi-directional hillshade (light from the top left); level ground = FLAT
    meters_per_px: float  # ground metres per canvas px
    exaggeration: float  # the vertical exaggeration the hillshade used

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.elevation.shape

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) canvas px per grid px."""
        gh, gw = self.grid_shape
        return self.width / gw, self.height / gh

    def at_canvas(self, a: np.ndarray) -> np.ndarray:
        """A grid array resampled to the canvas (HxW float32, smooth interpolation)."""
        return _upsample(a.astype(F32, copy=False), self.height, self.width)

    def slope(self) -> np.ndarray:
        """Steepness as the tangent of the slope angle (no exaggeration), on the grid."""
        return np.hypot(self.zx, self.zy)

    def to_canvas_xy(self, col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid positions (pixel centres at integers) → canvas px."""
        sx, sy = self.scale
        return (np.asarray(col) + 0.5) * sx, (np.asarray(row) + 0.5) * sy


def exaggeration_for(meters_per_px: float) -> float:
    """Vertical exaggeration that keeps hills legible as the map's scale grows (1 for a town or a hike; more for a
    region, where the DEM is coarse and slopes average out)."""
    return float(np.clip((max(meters_per_px, 1e-6) / 12.0) ** 0.4, 1.0, 8.0))


def relief_for(frame: Frame, dem: Dem, *, max_grid: int = MAX_GRID, cancel: CancelToken = NEVER) -> Relief:
    """The DEM sampled onto the frame's canvas (the Scene's projection, rotation and all), with slopes and shade."""
    w, h = frame.width, frame.height
    mpp = frame.meters_per_px if math.isfinite(frame.meters_per_px) and frame.meters_per_px > 0 else 1.0
    lat_c = 0.5 * (dem.bounds[1] + dem.bounds[3])
    dem_mpp = EARTH_M * math.cos(math.radians(lat_c)) / (dem.tile_px * 2.0**dem.zoom)
    step = max(1.0, max(w, h) / max_grid, min(dem_mpp / mpp, 4.0))  # canvas px per grid px
    gw, gh = max(2, math.ceil(w / step)), max(2, math.ceil(h / step))
    sx, sy = w / gw, h / gh
    # Project a mesh of points exactly; interpolate the Mercator positions of the grid's pixels between them.
    mj = np.unique(np.append(np.arange(0, gw, MESH), gw - 1))
    mi = np.unique(np.append(np.arange(0, gh, MESH), gh - 1))
    cc, rr = np.meshgrid((mj + 0.5) * sx, (mi + 0.5) * sy)
    lon, lat = px_to_lonlat(frame, cc.ravel(), rr.ravel())
    mx, my = mercator_px(lon, lat, dem.zoom, dem.tile_px)
    mx, my = (np.asarray(v, float).reshape(cc.shape) for v in (mx, my))
    for m in (mx, my):  # points off the globe (a world map's corners): the nearest good value will do
        bad = ~np.isfinite(m)
        if bad.all():
            m[:] = 0.0
        elif bad.any():
            m[bad] = np.nanmean(m)
    cancel.check()
    gx = _interp_mesh(mx, mi, mj, gh, gw) - dem.origin[0] - 0.5
    gy = _interp_mesh(my, mi, mj, gh, gw) - dem.origin[1] - 0.5
    elev = dem.sample_px(gx, gy).astype(F32)
    del gx, gy
    cancel.check()
    dzr, dzc = np.gradient(elev)
    zx = (dzc / F32(sx * mpp)).astype(F32)
    zy = (dzr / F32(sy * mpp)).astype(F32)
    del dzr, dzc
    z = exaggeration_for(mpp)
    shade = hillshade(zx * F32(z), zy * F32(z))
    return Relief(w, h, elev, zx, zy, shade, float(mpp), z)


def hillshade(zx: np.ndarray, zy: np.ndarray, altitude: float = ALTITUDE) -> np.ndarray:
    """Multi-directional hillshade, light from the top left of the picture. Half is the classic single light from
    the north-west (the contrast that reads as hills); half is Mark's oblique-weighted blend of lights from the
    west, north-west, north and south-west (as GDAL's -multidirectional), each weighted by how across the slope it
    shines, so faces turned from the main light still show their forms instead of going flat grey.
    `zx`, `zy`: rise per unit to the right and downwards. float32 0..1; level ground = FLAT."""
    alt = math.radians(altitude)
    norm = np.sqrt(F32(1) + zx * zx + zy * zy)
    nx, ny, nz = -zx / norm, -zy / norm, F32(1) / norm  # the surface normal (right, down, up)
    del norm
    aspect = np.arctan2(-zx, zy)  # the way the face looks, clockwise from the picture's up

    def lit(az_deg: float) -> np.ndarray:
        az = math.radians(az_deg)
        out = nx * F32(math.sin(az) * math.cos(alt))
        out += ny * F32(-math.cos(az) * math.cos(alt))
        out += nz * F32(math.sin(alt))
        return np.clip(out, 0, 1, out=out)

    blend = np.zeros(zx.shape, F32)
    for az_deg in (225.0, 270.0, 315.0, 360.0):
        part = lit(az_deg)
        part *= (np.sin(aspect - F32(math.radians(az_deg))) ** 2).astype(F32)
        blend += part
    blend *= F32(0.25)  # the weights add up to 2; this half of the result
    flat = ~(np.abs(zx) + np.abs(zy) > 0)  # level ground has no aspect: every light counts alike
    blend[flat] = F32(FLAT / 2)
    main = lit(315.0)
    main *= F32(0.5)
    main += blend
    return main


def _interp_mesh(m: np.ndarray, mi: np.ndarray, mj: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """Bilinear interpolation of mesh values (at grid rows mi, columns mj) onto the full gh x gw grid."""

    def axis(knots: np.ndarray, n: int):
        pos = np.arange(n, dtype=float)
        k = np.clip(np.searchsorted(knots, pos, side="right") - 1, 0, len(knots) - 2)
        t = (pos - knots[k]) / np.maximum(knots[k + 1] - knots[k], 1)
        return k, k + 1, t

    i0, i1, t = axis(mi, gh)
    rows = m[i0] * (1 - t)[:, None] + m[i1] * t[:, None]
    j0, j1, u = axis(mj, gw)
    return rows[:, j0] * (1 - u) + rows[:, j1] * u


def _upsample(small: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resampling to h x w with pixel centres aligned (float32)."""
    sh, sw = small.shape
    if (sh, sw) == (h, w):
        return small.copy()

    def axis(n: int, m: int):
        pos = np.clip((np.arange(n, dtype=np.float64) + 0.5) * (m / n) - 0.5, 0, m - 1)
        i0 = np.minimum(np.floor(pos).astype(np.intp), max(m - 2, 0))
        return i0, np.minimum(i0 + 1, m - 1), (pos - i0).astype(F32)

    i0, i1, ty = axis(h, sh)
    rows = small[i0]
    rows += (small[i1] - rows) * ty[:, None]
    j0, j1, tx = axis(w, sw)
    out = rows[:, j0]
    out += (rows[:, j1] - out) * tx[None, :]
    return out


def flat_water(masks: dict, shape: tuple[int, int]) -> np.ndarray | None:
    """HxW float32 0..1 coverage of level water (sea, lakes), or None when the map has none."""
    found = [masks[k] for k in FLAT_WATER if k in masks]
    if not found:
        return None
    acc = found[0].copy()
    for m in found[1:]:
        np.maximum(acc, m, out=acc)
    return acc.astype(F32) * F32(1 / 255)


def shade_structure(structure: np.ndarray | None, relief: Relief, masks: dict, strength: float = 0.6) -> None:
    """Shade the structure image (HxWx3 uint8, in place) with the hillshade, level water left as it is: the AI
    engines see the hills. None (no structure image drawn): nothing to shade."""
    if structure is None:
        return
    f = relief.at_canvas(relief.shade)
    f *= F32(strength / FLAT)
    f += F32(1 - strength)  # 1 on level ground, darker in the shadows, a little lighter on lit slopes
    np.clip(f, 0.35, 1.25, out=f)
    water = flat_water(masks, f.shape)
    if water is not None:
        f -= F32(1)
        f *= F32(1) - water
        f += F32(1)
    for c in range(3):
        ch = structure[..., c].astype(F32)
        ch *= f
        np.clip(ch, 0, 255, out=ch)
        structure[..., c] = ch.astype(np.uint8)
