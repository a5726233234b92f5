"""Terrarium relief tiles: the encoding, the zoom and tile choice, fetching from a loopback XYZ server, the cache
with the server stopped, and what a corrupt, missing or unreachable tile does."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from PIL import Image

from app.errors import Cancelled, InputError
from app.jobs.cancel import CancelToken
from app.sources import SourceConfig
from app.sources.cache import Cache
from app.sources.terrain import (
    MAX_ZOOM,
    TERRAIN_ATTRIBUTION,
    BadTile,
    TerrainUnavailable,
    choose_zoom,
    decode_terrarium,
    decode_tile,
    encode_terrarium,
    fetch_dem,
    mercator_px,
    tile_count,
    tile_range,
)
from tests.sources.terrarium_server import TileServer, mountain, tile_png

HIKE_BBOX = (13.735, 46.447, 13.800, 46.497)  # around the Julian Alps hike of tests/render/track_files.py


@pytest.fixture
def server():
    with TileServer(lifetime=60) as srv:
        yield srv


def _config(template: str, tmp_path, **kw) -> SourceConfig:
    return SourceConfig(terrain_url=template, cache_dir=tmp_path / "cache", timeout=5.0, backoff=0.05, **kw)


def test_encoding_round_trip():
    heights = np.array([[-10_994.0, -432.5, 0.0], [1234.56, 2864.0, 8848.86]])
    rgb = encode_terrarium(heights)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    back = decode_terrarium(rgb)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, heights, atol=1 / 256 + 1e-3)
    # the formula itself: R·256 + G + B/256 − 32768
    assert decode_terrarium(np.array([[[128, 0, 0]]], np.uint8))[0, 0] == 0.0
    assert decode_terrarium(np.array([[[129, 2, 128]]], np.uint8))[0, 0] == pytest.approx(258.5)


def test_a_tile_decodes_to_the_surface_it_was_encoded_from():
    elev = decode_tile(tile_png(14, 8815, 5795))
    assert elev.shape == (256, 256)
    from tests.sources.terrarium_server import tile_lonlat

    lon, lat = tile_lonlat(14, 8815, 5795)
    np.testing.assert_allclose(elev, mountain(lon, lat), atol=0.01)


def test_what_is_not_a_tile_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024)).save(buf, "PNG")
    with pytest.raises(BadTile, match="1024x1024"):
        decode_tile(buf.getvalue())
    with pytest.raises(BadTile, match="not a readable PNG"):
        decode_tile(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(BadTile):
        decode_tile(tile_png(14, 8815, 5795)[:300])  # cut off
    buf = io.BytesIO()
    Image.new("RGB", (256, 256)).save(buf, "JPEG")
    with pytest.raises(BadTile):
        decode_tile(buf.getvalue())


def test_zoom_matches_the_output_size_within_the_tile_budget():
    for size in (600, 1200, 2400):
        z = choose_zoom(HIKE_BBOX, size, max_tiles=10_000)
        xs, ys = mercator_px([HIKE_BBOX[0], HIKE_BBOX[2]], [HIKE_BBOX[1], HIKE_BBOX[3]], z)
        across = max(xs[1] - xs[0], ys[0] - ys[1])
        assert size / 1.5 <= across <= size * 1.5, (size, z, across)
    assert choose_zoom(HIKE_BBOX, 2400) > choose_zoom(HIKE_BBOX, 600)
    z = choose_zoom(HIKE_BBOX, 2400, max_tiles=4)
    assert tile_count(HIKE_BBOX, z) <= 4 < tile_count(HIKE_BBOX, z + 1)
    assert choose_zoom((13.7700, 46.4800, 13.7701, 46.4801), 4000) == MAX_ZOOM  # a few metres: the deepest zoom
    assert choose_zoom((-180, -85, 180, 85), 2400) <= 3  # the world: a handful of tiles
    x0, y0, x1, y1 = tile_range(HIKE_BBOX, 12)
    n = 2**12  # the slippy-map formula: the north-west corner's tile, and the south-east one's

    def tile(lon, lat):
        return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    assert (x0, y0) == tile(HIKE_BBOX[0], HIKE_BBOX[3]) and (x1, y1) == tile(HIKE_BBOX[2], HIKE_BBOX[1])
    with pytest.raises(InputError):
        tile_range((13.8, 46.5, 13.7, 46.4), 12)  # east of west


def test_fetch_builds_the_dem_from_the_server_and_caches_every_tile(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    cache = Cache.from_config(cfg)
    dem = fetch_dem(HIKE_BBOX, 1200, cache=cache, config=cfg)
    assert dem.warnings == ()
    assert dem.tiles == len(server.requests) and dem.from_cache == 0
    assert all(ua.startswith("MapBrush/") for _, ua in server.requests)
    assert dem.elevation.dtype == np.float32 and np.isfinite(dem.elevation).all()
    w, s, e, n = dem.bounds
    assert w <= HIKE_BBOX[0] and s <= HIKE_BBOX[1] and e >= HIKE_BBOX[2] and n >= HIKE_BBOX[3]
    rng = np.random.default_rng(3)
    lon = rng.uniform(HIKE_BBOX[0], HIKE_BBOX[2], 200)
    lat = rng.uniform(HIKE_BBOX[1], HIKE_BBOX[3], 200)
    np.testing.assert_allclose(dem.sample(lon, lat), mountain(lon, lat), atol=3.0)  # bilinear between pixels
    meta = dem.metadata()
    assert meta["source"] == server.template and meta["attribution"] == TERRAIN_ATTRIBUTION
    assert meta["fetched"].endswith("Z") and meta["zoom"] == dem.zoom
    for z, x, y in [(dem.zoom, dem.origin[0] // 256, dem.origin[1] // 256)]:
        assert cache.get(server.template.format(z=z, x=x, y=y), ".png") is not None


def test_cache_hit_with_the_server_stopped(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    first = fetch_dem(HIKE_BBOX, 900, cache=Cache.from_config(cfg), config=cfg)
    served = len(server.requests)
    server.stop()
    t = time.perf_counter()
    again = fetch_dem(HIKE_BBOX, 900, cache=Cache.from_config(cfg), config=cfg)
    assert time.perf_counter() - t < 2.0
    assert len(server.requests) == served
    assert again.from_cache == again.tiles == first.tiles
    np.testing.assert_array_equal(again.elevation, first.elevation)
    assert again.fetched == first.fetched


def test_expired_entries_are_still_used_when_the_server_is_gone(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    first = fetch_dem(HIKE_BBOX, 600, cache=Cache.from_config(cfg), config=cfg)
    server.stop()
    stale = Cache(cfg.cache_dir, max_age=0.0)  # everything counts as expired
    time.sleep(0.02)
    again = fetch_dem(HIKE_BBOX, 600, cache=stale, config=cfg)
    np.testing.assert_array_equal(again.elevation, first.elevation)


def test_a_corrupt_tile_is_a_filled_hole_with_a_warning_and_is_not_cached(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    zoom = choose_zoom(HIKE_BBOX, 1200)
    x0, y0, x1, y1 = tile_range(HIKE_BBOX, zoom)
    assert x1 > x0 and y1 > y0
    bad = (zoom, x0 + 1, y0 + 1)
    server.corrupt.add(bad)
    cache = Cache.from_config(cfg)
    dem = fetch_dem(HIKE_BBOX, 1200, cache=cache, config=cfg)
    assert len(dem.warnings) == 1
    assert f"{zoom}/{x0 + 1}/{y0 + 1}" in dem.warnings[0] and "not a readable PNG" in dem.warnings[0]
    assert "filled in" in dem.warnings[0]
    hole = dem.elevation[256:512, 256:512]
    assert np.isfinite(hole).all()
    ring = np.concatenate([dem.elevation[255, 256:512], dem.elevation[512, 256:512], dem.elevation[256:512, 255],
                           dem.elevation[256:512, 512]])  # fmt: skip
    assert ring.min() - 1 <= hole.min() and hole.max() <= ring.max() + 1  # smooth, from its edges
    assert abs(float(hole[0, 0]) - float(dem.elevation[255, 255])) < 30  # no cliff at the hole's edge
    assert cache.get(server.template.format(z=bad[0], x=bad[1], y=bad[2]), ".png") is None
    server.corrupt.clear()  # next time the tile is fetched again, and is right
    again = fetch_dem(HIKE_BBOX, 1200, cache=cache, config=cfg)
    assert again.warnings == () and again.from_cache == again.tiles - 1


def test_a_missing_tile_is_filled_and_named(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    zoom = choose_zoom(HIKE_BBOX, 900)
    x0, y0, _, _ = tile_range(HIKE_BBOX, zoom)
    server.missing.add((zoom, x0, y0))
    dem = fetch_dem(HIKE_BBOX, 900, cache=Cache.from_config(cfg), config=cfg)
    assert len(dem.warnings) == 1 and "HTTP 404" in dem.warnings[0] and f"{zoom}/{x0}/{y0}" in dem.warnings[0]
    assert np.isfinite(dem.elevation).all()


def test_every_tile_bad_is_a_clean_error(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    zoom = choose_zoom(HIKE_BBOX, 600)
    x0, y0, x1, y1 = tile_range(HIKE_BBOX, zoom)
    server.corrupt.update((zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    with pytest.raises(TerrainUnavailable, match="none of the") as info:
        fetch_dem(HIKE_BBOX, 600, cache=Cache.from_config(cfg), config=cfg)
    assert "\n" not in info.value.one_line()


def test_no_server_and_no_cache_fails_at_once(tmp_path):
    with TileServer() as srv:
        template = srv.template  # a port that was just free, and is closed again below
    cfg = _config(template, tmp_path)
    t = time.perf_counter()
    with pytest.raises(TerrainUnavailable, match="cannot reach"):
        fetch_dem(HIKE_BBOX, 2400, cache=Cache.from_config(cfg), config=cfg)
    assert time.perf_counter() - t < 3.0  # one refused connection, not one per tile


def test_cancel_stops_the_fetch(server, tmp_path):
    cfg = _config(server.template, tmp_path)
    token = CancelToken()
    seen = []

    def progress(stage, step, total, message="", preview=None):
        seen.append(step)
        if step >= 2:
            token.cancel()

    with pytest.raises(Cancelled):
        fetch_dem(HIKE_BBOX, 2400, cache=Cache.from_config(cfg), config=cfg, cancel=token, progress=progress)
    assert len(server.requests) <= 3


def test_a_template_without_its_fields_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"\{z\}"):
        fetch_dem(HIKE_BBOX, 600, cache=Cache(tmp_path), config=_config("http://127.0.0.1:9/tiles.png", tmp_path))
    with pytest.raises(InputError, match="http"):
        fetch_dem(HIKE_BBOX, 600, cache=Cache(tmp_path), config=_config("file:///{z}/{x}/{y}.png", tmp_path))


def test_the_terrain_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAPBRUSH_TERRAIN_URL", "http://127.0.0.1:1234/t/{z}/{x}/{y}.png")
    assert SourceConfig.load().terrain_url == "http://127.0.0.1:1234/t/{z}/{x}/{y}.png"
