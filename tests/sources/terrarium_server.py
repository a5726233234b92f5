"""A Terrarium tile server on 127.0.0.1 for the relief tests (not a test module): XYZ PNG tiles encoded from a
synthetic mountain range (Gaussian peaks around the Julian Alps hike of tests/render/track_files.py).

The server runs in a daemon thread, answers only on the loopback address, and shuts itself down after `lifetime`
seconds even if a test forgets to stop it. Tiles named in `missing` answer 404, those in `corrupt` answer bytes
that are not a PNG; every request's path and User-Agent is recorded.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

from app.sources.terrain import encode_terrarium

# (lon, lat, height m, radius m): a ridge of summits above a valley floor at 700 m, slopes up to about 40°
PEAKS = ((13.790, 46.492, 900.0, 900.0), (13.775, 46.486, 500.0, 1300.0), (13.760, 46.470, 650.0, 800.0),
         (13.820, 46.470, 450.0, 700.0), (13.745, 46.500, 400.0, 1500.0), (13.805, 46.500, 350.0, 600.0),
         (13.728, 46.458, 300.0, 500.0), (13.800, 46.455, 250.0, 900.0))  # fmt: skip
BASE = 700.0


# Spurs: elongated bumps of 250 m to 1 km (drawn once, from a fixed seed) that break the peaks' slopes into ridges
# and gullies. (lon, lat, height m, length m, width m, direction rad)
_R = np.random.default_rng(1912)
SPURS = np.column_stack([_R.uniform(13.70, 13.85, 90), _R.uniform(46.43, 46.53, 90), _R.uniform(80, 260, 90),
                         _R.uniform(500, 1400, 90), _R.uniform(180, 420, 90), _R.uniform(0, np.pi, 90)])  # fmt: skip


def mountain(lon, lat) -> np.ndarray:
    """Elevation (m) of the synthetic range at lon/lat: Gaussian peaks with spurs on their slopes."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    out = np.full(np.broadcast(lon, lat).shape, BASE)
    kx, ky = 111_320.0 * math.cos(math.radians(46.48)), 110_540.0
    for plon, plat, height, radius in PEAKS:
        dx, dy = (lon - plon) * kx, (lat - plat) * ky
        out += height * np.exp(-(dx * dx + dy * dy) / (2 * radius * radius))
    rise = 1.0 - np.exp(-(out - BASE) / 250.0)  # the valley floor stays smooth
    for slon, slat, height, length, width, angle in SPURS:
        dx, dy = (lon - slon) * kx, (lat - slat) * ky
        u = dx * math.cos(angle) + dy * math.sin(angle)
        v = -dx * math.sin(angle) + dy * math.cos(angle)
        out += height * rise * np.exp(-0.5 * ((u / length) ** 2 + (v / width) ** 2))
    return out


def tile_lonlat(z: int, x: int, y: int, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of the pixel centres of tile z/x/y."""
    n = size * 2.0**z
    px = x * size + np.arange(size) + 0.5
    py = y * size + np.arange(size) + 0.5
    lon = px / n * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * py / n))))
    return np.meshgrid(lon, lat)


@functools.lru_cache(maxsize=512)  # the same tiles are asked for by many tests
def tile_png(z: int, x: int, y: int, size: int = 256, surface=mountain) -> bytes:
    lon, lat = tile_lonlat(z, x, y, size)
    buf = io.BytesIO()
    Image.fromarray(encode_terrarium(surface(lon, lat)), "RGB").save(buf, "PNG")
    return buf.getvalue()


class TileServer:
    """`with TileServer() as srv:` → srv.template is an XYZ URL template on 127.0.0.1."""

    def __init__(self, *, size: int = 256, lifetime: float = 120.0, surface=mountain) -> None:
        self.size, self.surface = size, surface
        self.missing: set[tuple[int, int, int]] = set()
        self.corrupt: set[tuple[int, int, int]] = set()
        self.requests: list[tuple[str, str]] = []  # (path, User-Agent)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("User-Agent", "")))
                try:
                    _, kind, z, x, y = self.path.split("/")
                    key = (int(z), int(x), int(y.removesuffix(".png")))
                    assert kind == "terrarium"
                except (ValueError, AssertionError):
                    self.send_error(400)
                    return
                if key in owner.missing:
                    self.send_error(404, "no such tile")
                    return
                body = b"\x89PNG\r\n\x1a\nnot really a png" if key in owner.corrupt else tile_png(
                    *key, owner.size, owner.surface)  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.template = f"http://127.0.0.1:{self.port}/terrarium/{{z}}/{{x}}/{{y}}.png"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._stopped = False

    def tiles_served(self) -> list[str]:
        return [p for p, _ in self.requests]

    def __enter__(self) -> TileServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._timer.cancel()
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()
