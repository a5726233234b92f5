"""Relief: Terrarium-encoded elevation tiles over HTTP (an XYZ template), decoded into a DEM.

A Terrarium tile is a PNG whose pixel holds the elevation as R·256 + G + B/256 − 32768 metres, in Web
Mercator tiles of 256 (or 512) px. `fetch_dem` picks the zoom whose pixels match the output size (within a
tile budget), reads each tile from the cache or the server, and mosaics them. A tile the server does not have,
or one that does not decode, becomes a hole filled smoothly from its neighbours, with a warning; when no tile
at all can be had the fetch fails with `TerrainUnavailable` (the render then goes on without relief).
"""

from __future__ import annotations

import io
import math
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from app.errors import InputError, NetworkError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.sources import DEFAULT_TERRAIN_URL, SourceConfig

__all__ = ["DEFAULT_TERRAIN_URL", "TERRAIN_ATTRIBUTION", "Dem", "TerrainUnavailable", "fetch_dem"]
# The line a map drawn with these tiles carries (the attribution furniture draws it; metadata records it).
TERRAIN_ATTRIBUTION = "Elevation: Mapzen Terrarium, AWS Open Data"

TILE_SIZES = (256, 512)  # px a side; any other size is not a Terrarium tile
MAX_ZOOM = 15  # the deepest zoom the public tiles have
MAX_TILES = 64  # tiles one DEM may use; above it the zoom steps down (a coarser DEM, never a slow render)
MAX_TILE_BYTES = 4 * 1024 * 1024  # a 512-px RGBA PNG stored raw is 1 MiB; anything much larger is not a tile
TILE_SUFFIX = ".png"  # cache entries are plain PNG files
MAX_LAT = 85.05112878  # Web Mercator's edge

F32 = np.float32


class TerrainUnavailable(NetworkError):
    """No elevation could be had for the area (no network and nothing cached, or every tile bad)."""


class BadTile(ValueError):
    """A tile that is not a Terrarium PNG of a usable size."""


# ---------------------------------------------------------------- the encoding


def decode_terrarium(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 Terrarium pixels → HxW float32 metres (R·256 + G + B/256 − 32768)."""
    rgb = np.asarray(rgb)
    out = rgb[..., 0].astype(F32) * F32(256)
    out += rgb[..., 1]
    out += rgb[..., 2].astype(F32) * F32(1 / 256)
    out -= F32(32768)
    return out


def encode_terrarium(elevation: np.ndarray) -> np.ndarray:
    """HxW metres → HxWx3 uint8 Terrarium pixels (to 1/256 m; what a tile server stores)."""
    v = np.clip(np.asarray(elevation, np.float64) + 32768.0, 0.0, 65535.996)
    q = np.round(v * 256.0).astype(np.int64)  # in 1/256 m
    out = np.empty((*v.shape, 3), np.uint8)
    out[..., 0] = q >> 16
    out[..., 1] = (q >> 8) & 0xFF
    out[..., 2] = q & 0xFF
    return out


def decode_tile(data: bytes) -> np.ndarray:
    """A Terrarium PNG's bytes → HxW float32 metres. Raises BadTile for anything else (bounded: the size is
    checked from the header before any pixel is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                if im.size[0] != im.size[1] or im.size[0] not in TILE_SIZES:
                    raise BadTile(f"a {im.size[0]}x{im.size[1]} image is not a Terrarium tile (256 or 512 px)")
                rgb = np.asarray(im.convert("RGB"))
    except BadTile:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise BadTile(f"not a readable PNG ({type(exc).__name__}: {exc})") from None
    return decode_terrarium(rgb)


# ---------------------------------------------------------------- tiles and zoom


def mercator_px(lon, lat, zoom: int, tile_px: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat → global Web Mercator pixel (x, y) at `zoom` (y down from the north edge)."""
    n = tile_px * 2.0**zoom
    lat = np.clip(np.asarray(lat, float), -MAX_LAT, MAX_LAT)
    x = (np.asarray(lon, float) + 180.0) / 360.0 * n
    phi = np.radians(lat)
    y = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0 * n
    return x, y


def _clamped_bbox(bbox) -> tuple[float, float, float, float]:
    w, s, e, n = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or e <= w or n <= s:
        raise InputError(f"relief: {bbox!r} is not an area (west, south, east, north)")
    return max(w, -180.0), max(s, -MAX_LAT), min(e, 180.0), min(n, MAX_LAT)


def tile_range(bbox, zoom: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive, of the tiles that cover `bbox` at `zoom`."""
    w, s, e, n = _clamped_bbox(bbox)
    (x0, x1), (y1, y0) = mercator_px([w, e], [s, n], zoom, 1)
    top = 2**zoom - 1
    c0, r0 = min(int(x0), top), min(int(y0), top)
    return c0, r0, max(min(math.ceil(x1) - 1, top), c0), max(min(math.ceil(y1) - 1, top), r0)


def tile_count(bbox, zoom: int) -> int:
    x0, y0, x1, y1 = tile_range(bbox, zoom)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def choose_zoom(bbox, size_px: int, *, max_tiles: int = MAX_TILES, max_zoom: int = MAX_ZOOM, tile_px: int = 256) -> int:
    """The zoom at which the DEM has about as many pixels across `bbox` as the picture (`size_px`, its long side),
    stepped down until it needs at most `max_tiles` tiles."""
    w, s, e, n = _clamped_bbox(bbox)
    xs, ys = mercator_px([w, e], [s, n], 0, tile_px)
    span = max(xs[1] - xs[0], ys[0] - ys[1], 1e-9)  # px at zoom 0
    z = int(np.clip(round(math.log2(max(size_px, 1) / span)), 0, max_zoom))
    while z > 0 and tile_count(bbox, z) > max_tiles:
        z -= 1
    return z


# ---------------------------------------------------------------- the DEM


@dataclass(frozen=True)
class Dem:
    """Elevation on a Web Mercator grid: elevation[i, j] is the pixel whose top-left corner is global pixel
    (origin[0] + j, origin[1] + i) at `zoom` with tiles of `tile_px`."""

    elevation: np.ndarray  # HxW float32 metres, row 0 to the north
    zoom: int
    tile_px: int
    origin: tuple[int, int]  # global pixel (x, y) of the grid's top-left corner
    source: str = ""  # the URL template the tiles came from
    tiles: int = 0  # how many tiles it is made of
    from_cache: int = 0  # of which read from the cache
    fetched: str = ""  # when the oldest of its tiles was fetched (ISO 8601, UTC)
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) lon/lat of the grid's outer edges."""
        h, w = self.elevation.shape
        n = self.tile_px * 2.0**self.zoom
        x0, y0 = self.origin

        def lat(y: float) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))

        return (x0 / n * 360 - 180, lat(y0 + h), (x0 + w) / n * 360 - 180, lat(y0))

    def sample(self, lon, lat) -> np.ndarray:
        """Bilinear elevation (float32 metres) at lon/lat points; points off the grid take its edge."""
        x, y = mercator_px(lon, lat, self.zoom, self.tile_px)
        return self.sample_px(x - self.origin[0] - 0.5, y - self.origin[1] - 0.5)

    def sample_px(self, j: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Bilinear elevation at fractional grid positions (column j, row i; pixel centres at integers)."""
        e = self.elevation
        h, w = e.shape
        j = np.clip(np.asarray(j, float), 0, w - 1)
        i = np.clip(np.asarray(i, float), 0, h - 1)
        j0 = np.minimum(np.floor(j).astype(np.intp), max(w - 2, 0))
        i0 = np.minimum(np.floor(i).astype(np.intp), max(h - 2, 0))
        j1, i1 = np.minimum(j0 + 1, w - 1), np.minimum(i0 + 1, h - 1)
        tj, ti = (j - j0).astype(F32), (i - i0).astype(F32)
        top = e[i0, j0] + (e[i0, j1] - e[i0, j0]) * tj
        bottom = e[i1, j0] + (e[i1, j1] - e[i1, j0]) * tj
        return top + (bottom - top) * ti

    def metadata(self) -> dict:
        return {
            "source": self.source,
            "attribution": TERRAIN_ATTRIBUTION,
            "zoom": self.zoom,
            "tiles": self.tiles,
            "from_cache": self.from_cache,
            "fetched": self.fetched,
            "bounds": [round(v, 6) for v in self.bounds],
        }


def terrain_url(config: SourceConfig) -> str:
    """The tile template (SourceConfig: env MAPBRUSH_TERRAIN_URL, else the setting, else the public Terrarium
    tiles on AWS). Raises InputError for a template without {z}, {x} and {y}, or not over http(s)."""
    url = config.terrain_url.strip()
    if any(k not in url for k in ("{z}", "{x}", "{y}")):
        raise InputError(f"terrain URL {url!r} must be a tile template with {{z}}, {{x}} and {{y}} "
                         "(MAPBRUSH_TERRAIN_URL)")  # fmt: skip
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"terrain URL {url!r} must start with http:// or https:// (MAPBRUSH_TERRAIN_URL)")
    return url


def fetch_dem(
    bbox,
    size_px: int | tuple[int, int],
    *,
    cache,
    config: SourceConfig | None = None,
    max_tiles: int = MAX_TILES,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
) -> Dem:
    """The DEM covering `bbox` (west, south, east, north lon/lat) at about the resolution of a picture `size_px`
    (its long side, or (width, height)). Each tile is read from `cache` (app.sources.cache.Cache) or fetched
    and then cached. A tile the server does not have or that does not decode is a hole filled from its
    neighbours, with a warning (Dem.warnings); TerrainUnavailable when the server cannot be reached before any
    tile came, or no tile at all is usable."""
    from app.sources import http

    config = config or SourceConfig.load()
    url = terrain_url(config)
    long_side = max(size_px) if isinstance(size_px, tuple | list) else int(size_px)
    zoom = choose_zoom(bbox, long_side, max_tiles=max_tiles)
    x0, y0, x1, y1 = tile_range(bbox, zoom)
    keys = [(zoom, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    tiles: dict[tuple[int, int, int], np.ndarray] = {}
    bad: list[str] = []
    hits, fetched = 0, []
    for k, (z, x, y) in enumerate(keys):
        cancel.check()
        progress("terrain", k, len(keys), f"relief tile {k + 1} of {len(keys)}")
        tile_url = url.format(z=z, x=x, y=y)
        tile = _decoded(cache.get(tile_url, TILE_SUFFIX))
        if tile is not None:
            hits += 1
            fetched.append(cache.meta(tile_url).get("stored", ""))
        else:
            try:
                data = http.get(tile_url, max_bytes=MAX_TILE_BYTES, timeout=config.timeout, cancel=cancel,
                                config=config, label="relief tiles", accept="image/png")  # fmt: skip
            except NetworkError as exc:
                tile = _decoded(cache.get(tile_url, TILE_SUFFIX, stale=True))  # an expired copy, offline
                if tile is None:
                    if not tiles and not _answered(exc):  # unreachable: every other tile would wait out its timeout
                        raise TerrainUnavailable(exc.one_line()) from None
                    bad.append(f"{z}/{x}/{y}: {_reason(exc)}")
                    continue
                hits += 1
                fetched.append(cache.meta(tile_url).get("stored", ""))
            else:
                try:
                    tile = decode_tile(data)
                except BadTile as exc:
                    bad.append(f"{z}/{x}/{y}: {exc}")
                    continue
                cache.put(tile_url, data, TILE_SUFFIX, meta={"source": "terrain", "url": tile_url})
                fetched.append(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        tiles[(z, x, y)] = tile
    progress("terrain", len(keys), len(keys), "relief tiles done")
    if not tiles:
        raise TerrainUnavailable(f"relief tiles: none of the {len(keys)} could be used ({'; '.join(bad[:2])})")
    tile_px = max(t.shape[0] for t in tiles.values())
    for key, t in list(tiles.items()):  # 256- and 512-px tiles mixed: not one grid
        if t.shape[0] != tile_px:
            del tiles[key]
            bad.append(f"{key[0]}/{key[1]}/{key[2]}: {t.shape[0]} px among {tile_px}-px tiles")
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    elev = np.full((ny * tile_px, nx * tile_px), np.nan, F32)
    for (_, x, y), t in tiles.items():
        r, c = (y - y0) * tile_px, (x - x0) * tile_px
        elev[r : r + tile_px, c : c + tile_px] = t
    notes = []
    if bad:
        more = f" and {len(bad) - 2} more" if len(bad) > 2 else ""
        notes.append(f"relief: {len(bad)} of {len(keys)} tiles missing or unreadable, filled in from their "
                     f"neighbours ({'; '.join(bad[:2])}{more})")  # fmt: skip
        fill_holes(elev)
    when = min((f for f in fetched if f), default="")
    return Dem(elev, zoom, tile_px, (x0 * tile_px, y0 * tile_px), url, len(keys), hits, when, tuple(notes))


def _decoded(data: bytes | None) -> np.ndarray | None:
    """A cache entry decoded; None when absent or damaged (then fetched again)."""
    if data is None:
        return None
    try:
        return decode_tile(data)
    except BadTile:
        return None


def _answered(exc: NetworkError) -> bool:
    """The server was reached and answered with an error status (a tile it does not have), as opposed to a
    network that is down or a server that does not answer."""
    return "answered HTTP" in exc.message


def _reason(exc: NetworkError) -> str:
    text = exc.one_line()
    return text.split(": ", 1)[1] if text.startswith("relief tiles: ") else text


def fill_holes(a: np.ndarray) -> None:
    """Fill NaNs in place, smoothly, from the values around them (push-pull: averages over ever coarser grids,
    brought back down where there was nothing)."""
    valid = np.isfinite(a)
    if valid.all() or not valid.any():
        return
    levels = [(np.where(valid, a, 0).astype(np.float64), valid.astype(np.float64))]
    while max(levels[-1][0].shape) > 1:
        s, wgt = levels[-1]
        h, w = s.shape
        s = np.pad(s, ((0, h % 2), (0, w % 2)))
        wgt = np.pad(wgt, ((0, h % 2), (0, w % 2)))
        s = s.reshape(s.shape[0] // 2, 2, s.shape[1] // 2, 2).sum(axis=(1, 3))
        wgt = wgt.reshape(wgt.shape[0] // 2, 2, wgt.shape[1] // 2, 2).sum(axis=(1, 3))
        levels.append((s, wgt))
    s, wgt = levels[-1]
    mean = s / np.maximum(wgt, 1e-12)
    for s, wgt in reversed(levels[:-1]):
        mean = np.where(wgt > 0, s / np.maximum(wgt, 1e-12), _up2(mean, s.shape))
    a[~valid] = mean[~valid].astype(a.dtype)


def _up2(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Linear interpolation of `a` onto a grid twice as fine (cropped to `shape`), pixel centres aligned."""

    def axis(n: int, m: int):
        pos = np.clip((np.arange(n) + 0.5) / 2 - 0.5, 0, m - 1)
        i0 = np.floor(pos).astype(np.intp)
        return i0, np.minimum(i0 + 1, m - 1), pos - i0

    i0, i1, t = axis(shape[0], a.shape[0])
    rows = a[i0] * (1 - t)[:, None] + a[i1] * t[:, None]
    j0, j1, u = axis(shape[1], a.shape[1])
    return rows[:, j0] * (1 - u) + rows[:, j1] * u
