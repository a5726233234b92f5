"""Framing: fit the data window onto the canvas (margins, aspect, rotation) and describe it as a Frame."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pyproj
import shapely

from app.carto.projection import Projection, transformer
from app.carto.scene import Frame

BAND_GAP = 0.4  # the gap between a reserved band and the map, as a share of the margin
MIN_EXTENT_M = 500.0  # a single point (or a tiny cluster) is shown with at least this much ground around it
_GEOD = pyproj.Geod(ellps="WGS84")


def _window_outline(window: tuple[float, float, float, float], n: int = 48) -> np.ndarray:
    """Points along the border and across the inside of the lon/lat window (for projected extents)."""
    w, s, e, nn = window
    s, nn = max(s, -89.999), min(nn, 89.999)
    lon, lat = np.meshgrid(np.linspace(w, e, n), np.linspace(s, nn, n))
    return np.column_stack([lon.ravel(), lat.ravel()])


def _rotation(deg: float) -> tuple[float, float]:
    t = math.radians(deg)
    return math.cos(t), math.sin(t)


def reserved_bands(reserve: tuple[float, float], height: int) -> tuple[float, float]:
    """(top, bottom) px of reserved bands, squeezed to 60% of the page together (the map keeps the rest)."""
    top, bottom = (max(float(v), 0.0) if np.isfinite(v) else 0.0 for v in reserve)
    if top + bottom > 0.6 * height:
        k = 0.6 * height / (top + bottom)
        top, bottom = top * k, bottom * k
    return top, bottom


def fit_frame(
    proj: Projection,
    size: tuple[int, int],
    margin_px: int,
    rotation: float = 0.0,
    reserve: tuple[float, float] = (0.0, 0.0),
) -> Frame:
    """The Frame that shows `proj.window` as large as fits inside the margins, rotated clockwise by `rotation`.

    `reserve` is (top, bottom) pixels kept for furniture that owns a band of the page (a title banner): the map
    is framed, margins and all, in the rows between them.
    """
    width, height = size
    top, bottom = reserved_bands(reserve, height)
    fwd = proj.transformer()
    pts = _window_outline(proj.window)
    x, y = fwd.transform(pts[:, 0], pts[:, 1])
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    cx, cy = 0.5 * (x.min() + x.max()), 0.5 * (y.min() + y.max())
    cos, sin = _rotation(rotation)
    u, v = x - cx, cy - y  # v grows downwards, like pixel rows
    col, row = cos * u - sin * v, sin * u + cos * v
    bw, bh = col.max() - col.min(), row.max() - row.min()
    if max(bw, bh) < MIN_EXTENT_M:
        bw = bh = MIN_EXTENT_M
    # Beside a band the band's own padding already separates it from the map: a smaller gap replaces the margin.
    gap_top = margin_px * (BAND_GAP if top > 0 else 1.0)
    gap_bottom = margin_px * (BAND_GAP if bottom > 0 else 1.0)
    avail_w, avail_h = max(width - 2 * margin_px, 1), max(height - top - bottom - gap_top - gap_bottom, 1)
    s = min(avail_w / max(bw, 1e-9), avail_h / max(bh, 1e-9))
    crx, cry = 0.5 * (col.max() + col.min()), 0.5 * (row.max() + row.min())
    tx, ty = width / 2 - s * crx, top + gap_top + avail_h / 2 - s * cry
    a, b = s * cos, s * sin
    d, e = s * sin, -s * cos
    affine = tuple(float(v) for v in (a, b, tx - a * cx - b * cy, d, e, ty - d * cx - e * cy))
    frame = Frame(width, height, margin_px, float(rotation), proj.crs, float(1.0 / s), affine, proj.window)
    mpp = ground_meters_per_px(frame)
    bounds = _canvas_lonlat_bounds(frame, proj)
    return Frame(width, height, margin_px, float(rotation), proj.crs, mpp, affine, bounds)


def px_to_xy(frame: Frame, col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (col, row) → projected metres."""
    a, b, c, d, e, f = frame.affine
    det = a * e - b * d
    cc, rr = np.asarray(col, float) - c, np.asarray(row, float) - f
    return (e * cc - b * rr) / det, (a * rr - d * cc) / det


def xy_to_px(frame: Frame, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d, e, f = frame.affine
    x, y = np.asarray(x, float), np.asarray(y, float)
    return a * x + b * y + c, d * x + e * y + f


def lonlat_to_px(frame: Frame, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat → pixel (col, row) on this frame's canvas."""
    x, y = transformer("EPSG:4326", frame.crs).transform(lon, lat)
    return xy_to_px(frame, x, y)


def px_to_lonlat(frame: Frame, col, row) -> tuple[np.ndarray, np.ndarray]:
    x, y = px_to_xy(frame, col, row)
    lon, lat = transformer(frame.crs, "EPSG:4326").transform(x, y)
    return np.asarray(lon, float), np.asarray(lat, float)


def ground_meters_per_px(frame: Frame) -> float:
    """Geodesic metres per pixel at the canvas centre (mean of the horizontal and vertical directions)."""
    cx, cy = frame.width / 2, frame.height / 2
    k = max(2.0, 0.01 * min(frame.width, frame.height))
    cols = np.array([cx - k, cx + k, cx, cx])
    rows = np.array([cy, cy, cy - k, cy + k])
    lon, lat = px_to_lonlat(frame, cols, rows)
    if not np.all(np.isfinite(lon) & np.isfinite(lat)):
        return frame.meters_per_px
    _, _, dist = _GEOD.inv(lon[[0, 2]], lat[[0, 2]], lon[[1, 3]], lat[[1, 3]])
    return float(np.mean(dist) / (2 * k))


def scale_spread(frame: Frame, n: int = 7) -> float:
    """How much the map's scale varies over the picture: the largest over the smallest geodesic metres per pixel,
    measured east-west and north-south at n × n points across the canvas (inside the margins, on the globe).

    About 1.0 on a city or a small country; 2 to 3 on Europe or the world in Equal Earth (the scale differs with
    latitude and, the projection being equal-area rather than conformal, with direction). inf when nothing can
    be measured.
    """
    m = frame.margin
    cols, rows = np.meshgrid(np.linspace(m, frame.width - m, n), np.linspace(m, frame.height - m, n))
    cols, rows = cols.ravel(), rows.ravel()
    k = max(1.0, 0.005 * min(frame.width, frame.height))
    inv, fwd = transformer(frame.crs, "EPSG:4326"), transformer("EPSG:4326", frame.crs)
    found = []
    for dc, dr in ((k, 0.0), (0.0, k)):
        x0, y0 = px_to_xy(frame, cols - dc, rows - dr)
        x1, y1 = px_to_xy(frame, cols + dc, rows + dr)
        lon0, lat0 = (np.asarray(v, float) for v in inv.transform(x0, y0))
        lon1, lat1 = (np.asarray(v, float) for v in inv.transform(x1, y1))
        # Off the globe some projections invert to garbage: keep the points that go back where they came from.
        bx, by = fwd.transform(lon0, lat0)
        ok = np.isfinite(lon0) & np.isfinite(lon1) & np.isfinite(lat0) & np.isfinite(lat1)
        ok &= np.hypot(np.asarray(bx, float) - x0, np.asarray(by, float) - y0) < frame.meters_per_px
        if ok.any():
            _, _, dist = _GEOD.inv(lon0[ok], lat0[ok], lon1[ok], lat1[ok])
            found.append(np.asarray(dist, float) / (2 * k))
    mpp = np.concatenate(found) if found else np.empty(0)
    mpp = mpp[np.isfinite(mpp) & (mpp > 0)]
    return float(mpp.max() / mpp.min()) if mpp.size else float("inf")


def _canvas_lonlat_bounds(frame: Frame, proj: Projection) -> tuple[float, float, float, float]:
    """Lon/lat bounds of what the canvas shows; longitudes unwrapped around the projection centre."""
    n = 33
    cols, rows = np.meshgrid(np.linspace(0, frame.width, n), np.linspace(0, frame.height, n))
    lon, lat = px_to_lonlat(frame, cols.ravel(), rows.ravel())
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90.0)
    if not ok.any():
        return proj.window
    lon = proj.unwrap(lon[ok])
    lat = lat[ok]
    # Points beyond the world outline can invert to garbage in some projections: check by round trip.
    x, y = proj.transformer().transform(lon, lat)
    c2, r2 = xy_to_px(frame, x, y)
    good = np.hypot(c2 - cols.ravel()[ok], r2 - rows.ravel()[ok]) < 1.0
    if not good.any():
        return proj.window
    lon, lat = lon[good], lat[good]
    w, s, e, n = float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())
    # A pole on the canvas: every longitude meets there.
    px, py = proj.transformer().transform([proj.lon_0, proj.lon_0], [90.0, -90.0])
    pc, pr = xy_to_px(frame, np.asarray(px), np.asarray(py))
    inside = (pc >= 0) & (pc <= frame.width) & (pr >= 0) & (pr <= frame.height)
    if inside[0]:
        n = 90.0
    if inside[1]:
        s = -90.0
    if inside.any():
        w, e = proj.lon_0 - 180.0, proj.lon_0 + 180.0
    return (w, s, e, n)


def _seam_rows(geoms: np.ndarray, proj: Projection) -> np.ndarray:
    """Rows with parts on both sides of the antimeridian (split there when read, or so in the file, like Natural
    Earth's Russia), where ±180° is not this map's edge: their pieces touch on the canvas."""
    if proj.lon_0 % 360.0 == 0.0 or not len(geoms):
        return np.empty(0, np.int64)
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        both = (b[:, 0] <= -180.0) & (b[:, 2] >= 180.0)
    return np.flatnonzero(both & np.isin(shapely.get_type_id(geoms), (5, 6)))


def _mend_seam(px):
    """Pieces that meet at the antimeridian made one again: no seam line through Chukotka or Fiji."""
    snapped = shapely.set_precision(px, 1e-3)  # ±180° project to the same pixels up to float noise
    if shapely.get_type_id(px) == 6:
        return shapely.union_all(shapely.get_parts(snapped))
    return shapely.line_merge(snapped)


def to_pixels(geoms: np.ndarray, proj: Projection, frame: Frame) -> np.ndarray:
    """Lon/lat geometries → pixel geometries in one vectorised pass per call; pieces of a feature cut at the
    antimeridian are joined again where that is not the map's edge."""
    fwd = proj.transformer()
    a, b, c, d, e, f = frame.affine
    m = np.array([[a, d], [b, e]])
    off = np.array([c, f])

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = fwd.transform(xy[:, 0], xy[:, 1])
        out = np.column_stack([np.asarray(x, float), np.asarray(y, float)]) @ m + off
        out[~np.isfinite(out)] = np.nan
        return out

    seam = _seam_rows(geoms, proj)
    px = shapely.transform(geoms, fn)
    for r in seam:
        with contextlib.suppress(shapely.errors.GEOSException):  # else left in pieces: a seam line, not a loss
            px[r] = _mend_seam(px[r])
    return px
