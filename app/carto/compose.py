"""compose(): MapData in lon/lat → Scene in pixels (projection, framing, clipping, simplification)."""

from __future__ import annotations

import numpy as np
import shapely

from app.carto.attribution import attribution_lines
from app.carto.framing import fit_frame, reserved_bands, to_pixels
from app.carto.projection import choose_projection, split_at_seam
from app.carto.rasters import place_rasters
from app.carto.scene import Scene
from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.model import KIND_ORDER, Kind, MapData

MAX_SIDE = 16384
CLIP_PAD_PX = 4.0  # geometry is kept a little beyond the canvas so strokes and AA reach the edge
SIMPLIFY_PX = 0.5
CHUNK = 20000  # features per projection pass (progress and cancel points)
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def _check_size(size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"image size must be two whole numbers, got {size!r}") from None
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise InputError(f"image size {w}×{h} is out of range (1 to {MAX_SIDE} pixels a side)")
    return w, h


def _finite_mask(geoms: np.ndarray) -> np.ndarray:
    """True for geometries whose every coordinate is finite."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), bool)
    if len(coords):
        bad_pt = ~np.isfinite(coords).all(axis=1)
        bad[np.unique(idx[bad_pt])] = True
    return ~bad


def _vertex_lons(geoms: np.ndarray, bounds) -> np.ndarray | None:
    """Vertex longitudes, for windows over 180° wide only (else None).

    Long edges (2° to 180° of longitude) get in-between longitudes so that sparse outlines count; an
    edge jumping more than 180° is read as crossing the antimeridian (a GPS track from 179.9 to -179.9)
    and adds nothing in between.
    """
    if bounds[2] - bounds[0] <= 180.0:
        return None
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    lon = coords[:, 0]
    d = np.diff(lon)
    long = (idx[1:] == idx[:-1]) & (np.abs(d) > 2.0) & (np.abs(d) <= 180.0)
    if not long.any():
        return lon
    start, step = lon[:-1][long], d[long]
    k = np.ceil(np.abs(step) / 2.0).astype(np.int64)
    local = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    extra = np.repeat(start, k) + np.repeat(step, k) * (local + 1) / np.repeat(k + 1, k)
    return np.concatenate([lon, extra])


def _tidy(geoms: np.ndarray, width: int, height: int, rows: tuple[float, float] | None = None) -> np.ndarray:
    """Clip to the canvas (plus a pad) and simplify to ~half a pixel; vanished features become None.

    `rows` (top, bottom) narrows the clip to the map's rows when bands of the page are reserved for furniture.
    """
    p = CLIP_PAD_PX
    top, bottom = rows if rows is not None else (0.0, float(height))
    clipped = shapely.clip_by_rect(geoms, -p, top - p, width + p, bottom + p)
    types = shapely.get_type_id(clipped)
    poly = np.isin(types, [int(t) for t in _POLYGONAL])
    out = np.empty(len(geoms), object)
    out[poly] = shapely.simplify(clipped[poly], SIMPLIFY_PX, preserve_topology=True)
    pts = np.isin(types, [int(shapely.GeometryType.POINT), int(shapely.GeometryType.MULTIPOINT)])
    out[pts] = clipped[pts]
    rest = ~poly & ~pts
    out[rest] = shapely.simplify(clipped[rest], SIMPLIFY_PX, preserve_topology=False)
    gone = shapely.is_empty(out) | shapely.is_missing(out)
    gone |= poly & (shapely.area(out) < 0.01)
    out[gone] = None
    return out


def _world_sea(data: MapData, tidy: np.ndarray, proj, frame):
    """For world/continent maps of land areas (countries) with no sea: the sea polygon, in lon/lat.

    It is the data window (densified, so it follows the projection's curved edges) minus the land;
    built in lon/lat and projected like any feature, so it lands exactly between the countries.
    """
    if proj.kind != "world" or np.any(data.kinds == Kind.SEA):
        return None
    land_kinds = (Kind.ADMIN, Kind.OTHER, Kind.PARK, Kind.FOREST)
    polys = [g for g, k in zip(data.geometries, data.kinds) if k in land_kinds and g is not None]
    polys = [g for g in polys if shapely.get_dimensions(g) == 2]
    if len(polys) < 2:
        return None
    x0, y0, x1, y1 = data.frame_bounds()
    y0, y1 = min(y0, proj.window[1]), max(y1, proj.window[3])  # a globe framed pole to pole has sea to the poles
    window = shapely.segmentize(shapely.box(max(x0, -180.0), max(y0, -90.0), min(x1, 180.0), min(y1, 90.0)), 1.0)
    land = shapely.union_all(shapely.make_valid(np.array(polys, object)))
    sea = shapely.difference(window, land)
    return None if sea.is_empty else sea


def _extent(proj, frame) -> shapely.Geometry | None:
    """The data's framed lon/lat window in pixels (densified, so it follows a world projection's curved edges)."""
    w, s, e, n = proj.window
    if not (e > w and n > s):
        return None  # a single point: shown with ground around it, and labels may use all of that
    box = shapely.box(w, max(s, -89.999), e, min(n, 89.999))
    px = to_pixels(split_at_seam(np.array([shapely.segmentize(box, max(e - w, n - s) / 64.0)], object), proj), proj,
                   frame)[0]  # fmt: skip
    if px is None or px.is_empty or not np.isfinite(shapely.bounds(px)).all():
        return None
    return shapely.make_valid(px)


def compose(
    data: MapData,
    *,
    size: tuple[int, int] = (1024, 1024),
    margin: float = 0.06,
    rotation: float = 0.0,
    title: str | None = None,
    subtitle: str | None = None,
    kinds: set[Kind] | None = None,
    reserve: tuple[float, float] = (0.0, 0.0),
    attribution: list[str] | None = None,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> Scene:
    """Lay the map data out on a `size` canvas. `margin` is a fraction of the short side; `rotation` is
    clockwise degrees; `kinds` restricts which feature kinds are kept (None = all); `reserve` is (top, bottom)
    pixels of the page kept for a title band: the map is framed between them and nothing is drawn under them.
    `attribution`: the credit lines the map shows; None = those owed to the data's sources (an OSM file's)."""
    width, height = _check_size(size)
    credit = attribution_lines(data.sources) if attribution is None else list(attribution)
    if not 0.0 <= float(margin) < 0.5:
        raise InputError(f"margin must be between 0 and 0.5 of the short side, got {margin}")
    progress("compose", 0, 1, "choosing a projection")
    keep = ~(shapely.is_missing(data.geometries) | shapely.is_empty(data.geometries))
    if kinds is not None:
        wanted = {Kind(k) for k in kinds}
        keep &= np.array([k in wanted for k in data.kinds], bool)
    data = data.select(keep)
    if len(data) == 0 and not data.rasters:
        raise InputError("there is nothing to draw: the map data has no features of the chosen kinds")
    bounds = data.frame_bounds()
    if bounds is None or not np.all(np.isfinite(bounds)):
        raise InputError("the map data has no usable coordinates")
    lons = _vertex_lons(data.geometries, bounds)
    proj = choose_projection(bounds, lons)
    margin_px = round(float(margin) * min(width, height))
    frame = fit_frame(proj, (width, height), margin_px, float(rotation) % 360.0, reserve)
    top, bottom = reserved_bands(reserve, height)
    rows = (top, height - bottom) if (top or bottom) else None
    cancel.check()

    n = len(data)
    chunks = max(1, -(-n // CHUNK))
    tidy = np.empty(n, object)
    for i, start in enumerate(range(0, n, CHUNK)):
        progress("compose", i + 1, chunks + 2, f"projecting and simplifying {start:,}/{n:,} features")
        sl = slice(start, start + CHUNK)
        px = to_pixels(split_at_seam(data.geometries[sl], proj), proj, frame)
        px[~_finite_mask(px)] = None
        tidy[sl] = _tidy(px, width, height, rows)
        cancel.check()
    progress("compose", chunks + 1, chunks + 2, "ordering layers")
    sea = _world_sea(data, tidy, proj, frame)
    if sea is not None:  # country-scale data: the ocean is what the land polygons leave of the globe
        data = MapData.merge([data, MapData.from_lists([sea], [Kind.SEA], [None])])
        sea_px = to_pixels(split_at_seam(np.array([sea], object), proj), proj, frame)
        tidy = np.concatenate([tidy, _tidy(sea_px, width, height, rows)])
    alive = ~shapely.is_missing(tidy)
    order = np.array([KIND_ORDER[k] for k in data.kinds], int)
    idx = np.flatnonzero(alive)
    idx = idx[np.argsort(order[idx], kind="stable")]
    scene = Scene(
        frame,
        tidy[idx],
        data.kinds[idx],
        data.names[idx],
        [data.props[i] for i in idx],
        title=title,
        subtitle=subtitle,
        rasters=place_rasters(data.rasters, frame),
        extent=_extent(proj, frame),
        attribution=credit,
    )
    progress("compose", chunks + 2, chunks + 2, f"{len(idx):,} features on the canvas")
    return scene
