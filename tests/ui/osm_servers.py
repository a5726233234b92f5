"""Loopback stand-ins for Nominatim and Overpass (not a test module), speaking their real protocols on 127.0.0.1:

- GET /search?q=…&format=jsonv2 answers a jsonv2 list of the places whose name the query starts with;
- POST /api/interpreter (form field `data`, Overpass QL) answers OSM XML of a small town filling the query's
  `[bbox:south,west,north,east]`: a named street grid, a river, a lake, a wood, building blocks, a village node.

`slow` makes the interpreter stream its answer in small pieces, a pause between them (for cancelling mid-download).
Every request is recorded (method, path, query, User-Agent, time). The server runs in daemon threads and shuts
itself down after `lifetime` seconds if a test forgets to.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PLACES = [  # jsonv2 rows, as Nominatim answers them (addressdetails=1)
    {
        "place_id": 1001, "osm_type": "relation", "osm_id": 8001, "lat": "46.4850", "lon": "13.7810",
        "category": "place", "type": "village", "addresstype": "village", "name": "Brezovica pod Vrhom",
        "display_name": "Brezovica pod Vrhom, Gorenjska, Slovenia",
        "address": {"village": "Brezovica pod Vrhom", "country": "Slovenia", "country_code": "si"},
        "boundingbox": ["46.4750", "46.4950", "13.7650", "13.7970"],
    },
    {
        "place_id": 1002, "osm_type": "node", "osm_id": 8002, "lat": "59.0010", "lon": "10.0050",
        "category": "place", "type": "town", "addresstype": "town", "name": "Brezovica Harbour",
        "display_name": "Brezovica Harbour, Vestfold, Norway",
        "address": {"town": "Brezovica Harbour", "country": "Norway", "country_code": "no"},
        "boundingbox": ["58.9910", "59.0110", "9.9850", "10.0250"],
    },
]  # fmt: skip


@dataclass
class Hit:
    method: str
    path: str
    query: dict
    body: str
    user_agent: str
    at: float = field(default_factory=time.monotonic)


def town_xml(south: float, west: float, north: float, east: float, name: str = "Brezovica") -> bytes:
    """OSM XML of a village filling the box."""
    nodes: list[str] = []
    ways: list[str] = []
    nid = [0]

    def node(lon: float, lat: float, tags: dict | None = None) -> int:
        nid[0] += 1
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        end = f">{body}</node>" if body else "/>"
        nodes.append(f'  <node id="{nid[0]}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"{end}')
        return nid[0]

    def way(coords, tags: dict, closed: bool = False) -> None:
        ids = [node(x, y) for x, y in coords]
        if closed:
            ids.append(ids[0])
        nds = "".join(f'<nd ref="{i}"/>' for i in ids)
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'  <way id="{len(ways) + 1}" version="1">{nds}{body}</way>')

    w, s, e, n = west, south, east, north
    dx, dy = e - w, n - s
    streets = ["Mill", "Church", "Lime", "School", "Bridge", "Forge", "Meadow", "Orchard"]
    for i in range(8):
        lat = s + dy * (0.1 + 0.8 * i / 7)
        cls = "primary" if i == 3 else ("secondary" if i == 6 else "residential")
        way([(w + 0.02 * dx, lat), (w + 0.98 * dx, lat + 0.01 * dy)], {"highway": cls, "name": f"{streets[i]} Street"})
    for j in range(8):
        lon = w + dx * (0.1 + 0.8 * j / 7)
        way([(lon, s + 0.03 * dy), (lon + 0.01 * dx, s + 0.97 * dy)],
            {"highway": "tertiary" if j == 2 else "residential", "name": f"{streets[j]} Lane"})  # fmt: skip
    river = [(w + dx * (0.55 + 0.05 * math.sin(k / 2.0)), s + dy * k / 24) for k in range(25)]
    way(river, {"waterway": "river", "name": "Bistrica"})
    lake = [(w + dx * (0.78 + 0.06 * math.cos(a)), s + dy * (0.75 + 0.05 * math.sin(a)))
            for a in [t * 2 * math.pi / 20 for t in range(20)]]  # fmt: skip
    way(lake, {"natural": "water", "name": "Black Pond"}, closed=True)
    wood = [(w + 0.12 * dx, s + 0.15 * dy), (w + 0.3 * dx, s + 0.15 * dy), (w + 0.3 * dx, s + 0.32 * dy),
            (w + 0.12 * dx, s + 0.32 * dy)]  # fmt: skip
    way(wood, {"landuse": "forest", "name": "Oak Wood"}, closed=True)
    for i in range(6):
        for j in range(6):
            x, y = w + dx * (0.35 + 0.03 * i), s + dy * (0.4 + 0.03 * j)
            way([(x, y), (x + 0.012 * dx, y), (x + 0.012 * dx, y + 0.012 * dy), (x, y + 0.012 * dy)],
                {"building": "yes"}, closed=True)  # fmt: skip
    node(w + 0.45 * dx, s + 0.5 * dy, {"place": "village", "name": name, "population": "2400"})
    node(w + 0.40 * dx, s + 0.45 * dy, {"amenity": "place_of_worship", "name": "St. Martin"})
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API 0.7.62 loopback">'
    text = "\n".join([head, '  <note>The data included in this document is from www.openstreetmap.org.</note>',
                      *nodes, *ways, "</osm>"]) + "\n"  # fmt: skip
    return text.encode("utf-8")


_BBOX = re.compile(r"\[bbox:([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\]")


class Servers:
    def __init__(self, *, slow: bool = False, lifetime: float = 120.0) -> None:
        self.slow = slow
        self.hits: list[Hit] = []
        self.stop_streaming = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _hit(self, body: str = "") -> Hit:
                parts = urlsplit(self.path)
                hit = Hit(self.command, parts.path, parse_qs(parts.query), body, self.headers.get("User-Agent", ""))
                outer.hits.append(hit)
                return hit

            def do_GET(self) -> None:
                hit = self._hit()
                if hit.path != "/search":
                    self.send_error(404)
                    return
                q = " ".join(hit.query.get("q", [""])[0].lower().split())
                rows = [p for p in PLACES if p["name"].lower().startswith(q)] if q else []
                body = json.dumps(rows).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                query = form.get("data", [""])[0]
                self._hit(query)
                m = _BBOX.search(query)
                if self.path != "/api/interpreter" or m is None or "[out:xml]" not in query:
                    self.send_error(400, "bad query")
                    return
                s, w, n, e = (float(v) for v in m.groups())
                body = town_xml(s, w, n, e)
                self.send_response(200)
                self.send_header("Content-Type", "application/osm3s+xml")
                if not outer.slow:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.end_headers()  # streamed with no length, as Overpass does, slowly: 2 MiB more, 16 KiB a piece
                cut = body.index(b"<note>")
                body = body[:cut] + b"<!-- " + b"padding " * (2**18) + b"-->\n  " + body[cut:]
                piece = 16 * 1024
                for i in range(0, len(body), piece):
                    if outer.stop_streaming.is_set():
                        return
                    try:
                        self.wfile.write(body[i : i + piece])
                        self.wfile.flush()
                    except OSError:
                        return  # the client went away (cancelled)
                    time.sleep(0.05)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(lifetime, self.close)
        self._timer.daemon = True
        self._timer.start()

    @property
    def nominatim_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def overpass_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/interpreter"

    def searches(self) -> list[Hit]:
        return [h for h in self.hits if h.path == "/search"]

    def interpreter(self) -> list[Hit]:
        return [h for h in self.hits if h.path == "/api/interpreter"]

    def close(self) -> None:
        self.stop_streaming.set()
        self._timer.cancel()
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
