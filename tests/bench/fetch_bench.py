"""Fetched-data speed (issue 12 "Speed"): a place rendered from Overpass, cold and from the cache, against the same
data from a local .osm file; and the peak memory of a 10 km radius. Prints figures; not a timed test.

    python tests/bench/fetch_bench.py [--size 1200x900] [--repeat 3] [--style poster]

Everything is whole-process timing of `mapbrush render` (best of --repeat). Loopback servers on 127.0.0.1 only
(an http.server thread): an Overpass interpreter that answers any `[bbox:]` with OSM XML of a synthetic city
(scripts/make_large_city.py's districts, at twice its density so a 1.5 km radius holds tens of thousands of
features) made on the fly in proportion to the box's area, up to --cap features; and Nominatim /search (jsonv2)
that finds "Greyport". No other address is contacted: the environment points MapBrush at these servers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import make_large_city as city  # noqa: E402

LON0, LAT0 = 11.0, 60.0  # Greyport's centre
SCALE = 0.5  # districts of 500 m instead of 1 km: a city centre's density (~3,300 features a km²)
PER_KM2 = 820 / SCALE**2


# ----- the synthetic city as OSM XML ---------------------------------------------------------------------
def _xml_attr(v: str) -> str:
    return v.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def city_osm(bbox, cap: int) -> bytes:
    """OSM XML of a city centred on the box, with features in proportion to its area (at most `cap`)."""
    w, s, e, n = bbox
    lon0, lat0 = (w + e) / 2, (s + n) / 2
    kx = 111_320.0 * math.cos(math.radians(lat0))
    km2 = (e - w) * kx / 1000 * (n - s) * 111.32
    want = max(200, min(cap, int(PER_KM2 * km2)))
    feats, _ = city.generate(want, None, 7)
    nodes: list[str] = []
    ways: list[str] = []
    rels: list[str] = []
    ids = iter(range(1, 1 << 40))

    def node_ids(xy) -> list[int]:
        out = []
        for x, y in xy:
            i = next(ids)
            lon, lat = lon0 + x * SCALE / kx, lat0 + y * SCALE / 111_320.0
            nodes.append(f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            out.append(i)
        return out

    def tags_xml(tags) -> str:
        return "".join(f'    <tag k="{_xml_attr(k)}" v="{_xml_attr(str(v))}"/>\n' for k, v in tags.items())

    def way(refs, tags) -> int:
        i = next(ids)
        nds = "".join(f'    <nd ref="{r}"/>\n' for r in refs)
        ways.append(f'  <way id="{i}">\n{nds}{tags_xml(tags)}  </way>\n')
        return i

    for kind, geom, tags in feats:
        if kind == "Point":
            i = next(ids)
            lon, lat = lon0 + geom[0] * SCALE / kx, lat0 + geom[1] * SCALE / 111_320.0
            nodes.append(f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}">\n{tags_xml(tags)}  </node>\n')
        elif kind == "LineString":
            way(node_ids(geom), tags)
        else:
            rings = [list(r) for r in geom]
            refs = [node_ids(r[:-1] if tuple(r[0]) == tuple(r[-1]) else r) for r in rings]
            refs = [r + r[:1] for r in refs]
            if len(rings) == 1:
                way(refs[0], tags)
            else:
                members = [way(r, {}) for r in refs]
                roles = ["outer"] + ["inner"] * (len(members) - 1)
                mem = "".join(f'    <member type="way" ref="{m}" role="{r}"/>\n' for m, r in zip(members, roles))
                i = next(ids)
                rels.append(f'  <relation id="{i}">\n{mem}{tags_xml({"type": "multipolygon", **tags})}  </relation>\n')
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API (fetch_bench)">\n'
    head += "<note>The data included in this document is from www.openstreetmap.org.</note>\n"
    return (head + "".join(nodes) + "".join(ways) + "".join(rels) + "</osm>\n").encode()


# ----- loopback servers ----------------------------------------------------------------------------------
class Services:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.answers: dict[tuple, bytes] = {}  # made once per box, so a cold fetch times the transfer, not us
        self.overpass_calls = 0
        services = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, body: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/nominatim/search":
                    self._send(json.dumps(services.search(parse_qs(url.query))).encode(), "application/json")
                elif url.path == "/api/interpreter":
                    self._send(services.overpass(parse_qs(url.query).get("data", [""])[0]), "application/osm3s+xml")
                else:
                    self.send_error(404)

            def do_POST(self):
                size = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(size).decode())
                if urlparse(self.path).path != "/api/interpreter":
                    self.send_error(404)
                    return
                self._send(services.overpass(form.get("data", [""])[0]), "application/osm3s+xml")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def search(self, q) -> list[dict]:
        d = 0.03
        return [{
            "place_id": 1, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
            "osm_type": "relation", "osm_id": 424242, "lat": f"{LAT0}", "lon": f"{LON0}", "category": "place",
            "type": "city", "place_rank": 16, "importance": 0.6, "addresstype": "city", "name": "Greyport",
            "display_name": "Greyport, Benchland", "address": {"city": "Greyport", "country": "Benchland"},
            "boundingbox": [f"{LAT0 - d}", f"{LAT0 + d}", f"{LON0 - 2 * d}", f"{LON0 + 2 * d}"],
        }]  # fmt: skip

    def overpass(self, query: str) -> bytes:
        self.overpass_calls += 1
        m = re.search(r"\[bbox:([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\]", query)
        if not m:
            return b'<?xml version="1.0"?><osm version="0.6"><remark>runtime error: no bbox</remark></osm>'
        s, w, n, e = (float(v) for v in m.groups())
        key = (w, s, e, n)
        if key not in self.answers:
            self.answers[key] = city_osm(key, self.cap)
        return self.answers[key]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----- timing --------------------------------------------------------------------------------------------
def run(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "app", "render", *args], env=env, cwd=ROOT, capture_output=True)
    took = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"mapbrush render {' '.join(args)} failed ({p.returncode}):\n{p.stderr.decode()[-2000:]}")
    return took


def inprocess(a, env: dict, local: Path) -> None:
    """What a cache hit does beyond reading the file, timed inside one process (whole-process timings on a shared
    machine are noisier than 0.2 s): geocoding from the cache, the cache lookup, the entry's metadata."""
    from app.jobs.surroundings import fetch_area, resolve_area
    from app.mapdata.io import read_file
    from app.sources import SourceConfig
    from app.sources.cache import Cache
    from app.sources.overpass import entry_meta, fetch_osm

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("MAPBRUSH_")})
    try:
        w, h = (int(v) for v in a.size.lower().split("x"))

        class Req:
            size, radius_m, bbox, place, context = (w, h), 1500.0, None, "Greyport", False

        config = SourceConfig.load()
        cache = Cache.from_config(config)
        steps = {
            "geocode (cached)": lambda: resolve_area(Req, config=config, cache=cache),
            "fetch_osm (cache hit)": lambda: fetch_osm(
                resolve_area(Req, config=config, cache=cache).bbox, cache=cache, config=config
            ),
            "entry_meta": lambda: entry_meta(next(Path(config.cache_dir).glob("??/*.osm"))),
            "read_file(local .osm)": lambda: read_file(local),
            "fetch_area (cache hit)": lambda: fetch_area(
                resolve_area(Req, config=config, cache=cache), config=config, cache=cache
            ),
        }
        print(f"\nin one process, best of {a.repeat}")
        times = {}
        for name, fn in steps.items():
            times[name] = min(_timed(fn) for _ in range(a.repeat))
            print(f"  {name:<28} {times[name] * 1000:8.1f} ms")
        extra = times["geocode (cached)"] + times["fetch_osm (cache hit)"] + times["entry_meta"]
        print(f"  cache-hit own work           {extra * 1000:8.1f} ms  (geocode + fetch_osm + entry_meta; the rest of")
        print("                                           fetch_area is the same read_file as a local file)")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def peak_rss(args: list[str], env: dict) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `mapbrush render`, measured in a fresh child so that no earlier run's
    peak counts (getrusage(RUSAGE_CHILDREN) keeps the largest child ever waited for)."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run([sys.executable, '-m', 'app', 'render', *sys.argv[1:]], capture_output=True); "
        "sys.stderr.write(p.stderr.decode()[-2000:]) if p.returncode else None; "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)"
    )
    p = subprocess.run([sys.executable, "-c", probe, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    took, kb, rc = p.stdout.split()
    if int(rc):
        raise SystemExit(f"mapbrush render {' '.join(args)} failed ({rc}):\n{p.stderr}")
    return float(took), int(kb) / 1024  # ru_maxrss is in KiB on Linux


def memory(a, env: dict, work: Path, common: list[str], place: list[str], svc: Services) -> None:
    from app.jobs.surroundings import box_around
    from app.sources.overpass import MAX_BYTES, area_km2, detail_for

    w, h = (int(v) for v in a.size.lower().split("x"))
    print("\npeak RSS of one render (fresh cache; getrusage RUSAGE_CHILDREN maxrss)")
    print(f"  {'radius':<8} {'area':>9} {'detail':<8} {'answer':>9} {'ways':>9} {'time':>8} {'peak RSS':>9}")
    for label, radius_m in (("1.5 km", 1500.0), ("10 km", 10_000.0)):
        bbox = box_around(LON0, LAT0, radius_m, w / h)
        args = ["--place", "Greyport", "--radius", label.replace(" ", ""), *common]
        cache = work / f"mem-{radius_m:.0f}"
        took, mb = peak_rss(args, {**env, "MAPBRUSH_CACHE_DIR": str(cache)})
        entry = next(cache.glob("??/*.osm"))
        size = entry.stat().st_size
        ways = entry.read_bytes().count(b"<way ")
        print(f"  {label:<8} {area_km2(bbox):7.0f} km² {detail_for(bbox).name:<8} {size / 1e6:6.1f} MB {ways:>9,} "
              f"{took:6.1f} s {mb:6.0f} MB")  # fmt: skip
        last = (size, mb)
    size, mb = last
    print(
        f"  10 km: peak RSS is {mb / (size / 1e6):.1f}x the answer's size; an answer is refused past "
        f"max_bytes = {MAX_BYTES / 2**30:.0f} GiB (streamed to disk in 1 MiB chunks, never held whole), and the "
        f"server here sends at most {a.cap:,} features"
    )


def best(n: int, fn) -> float:
    return min(fn() for _ in range(n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1200x900")
    ap.add_argument("--style", default="poster")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cap", type=int, default=250_000, help="most features in one Overpass answer")
    ap.add_argument("--no-10km", action="store_true", help="skip the 10 km memory run")
    a = ap.parse_args(argv)
    svc = Services(a.cap)
    work = Path(tempfile.mkdtemp(prefix="fetch-bench-"))
    try:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MAPBRUSH_OVERPASS_URL": f"{svc.base}/api/interpreter",
               "MAPBRUSH_NOMINATIM_URL": f"{svc.base}/nominatim", "MAPBRUSH_HTTP_TIMEOUT": "120",
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}  # fmt: skip
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(k, None)
        common = ["--size", a.size, "--style", a.style, "-o", str(work / "out.png")]
        place = ["--place", "Greyport", "--radius", "1.5km", *common]
        warm = {**env, "MAPBRUSH_CACHE_DIR": str(work / "cache")}
        run(place, warm)  # the server makes its answer once; the cache now holds it
        osm = next((work / "cache").glob("??/*.osm"))
        local = work / "greyport.osm"
        shutil.copyfile(osm, local)
        n_ways = local.read_bytes().count(b"<way ")
        print(f"1.5 km radius answer: {local.stat().st_size / 1e6:.1f} MB OSM XML, {n_ways:,} ways")

        t_file = best(a.repeat, lambda: run([str(local), *common], env))

        def cold() -> float:
            cache = work / "cold"
            shutil.rmtree(cache, ignore_errors=True)
            return run(place, {**env, "MAPBRUSH_CACHE_DIR": str(cache)})

        t_cold = best(a.repeat, cold)
        calls = svc.overpass_calls
        t_hit = best(a.repeat, lambda: run(place, warm))
        assert svc.overpass_calls == calls, "a cache hit asked Overpass again"
        rows = [("(a) local .osm file", t_file), ("(b) --place, cold cache", t_cold), ("(c) --place, cache hit", t_hit)]
        print(f"\nmapbrush render --size {a.size} --style {a.style}, best of {a.repeat} (whole process)")
        for name, t in rows:
            print(f"  {name:<28} {t:7.2f} s")
        over = t_hit - t_file
        print(f"  cache-hit overhead (c)-(a)  {over:+7.2f} s  ({'within' if over <= 0.2 else 'OVER'} the 0.2 s budget)")
        print(f"  fetch cost (b)-(c)          {t_cold - t_hit:+7.2f} s  (Overpass asked 0 times during (c))")

        inprocess(a, warm, local)
        if not a.no_10km:
            memory(a, env, work, common, place, svc)
    finally:
        svc.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
