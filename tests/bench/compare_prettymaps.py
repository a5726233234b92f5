"""MapBrush vs prettymaps on the same OpenStreetMap data, offline, process start included.

    python tests/bench/compare_prettymaps.py [--prettymaps-python PY] [--streets 3000] [--size 2048]
        [--styles poster,fantasy,watercolor] [--runs 3] [--mapbrush-python PY]

The 3,000-street city of scripts/make_large_city.py is written as an .osm file (nodes shared where streets meet).
MapBrush renders that file; prettymaps (1.x, in its own environment: pip install prettymaps) plots its default
preset over the same square, with osmnx reading the same file instead of asking Overpass: `features_from_polygon`
becomes `features_from_xml` and `graph_from_polygon` a graph of the file's highways, truncated to the square —
osmnx's own offline readers. prettymaps imports vsketch for its pen-plotter mode only; where vsketch is not
installed the driver gives it an empty stand-in module.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).parent))
from compare_matplotlib import ROOT, timed  # a script beside this one: processes timed alike

PRETTYMAPS = r"""
import sys, types, warnings
warnings.filterwarnings("ignore")
try:
    import vsketch  # noqa: F401
except ImportError:  # only its pen-plotter mode uses it
    sys.modules["vsketch"] = types.SimpleNamespace(Vsketch=object)
import matplotlib
matplotlib.use("Agg")
import osmnx as ox
import prettymaps
import prettymaps.fetch as fetch
ALL, STREETS, lat, lon, radius, size, out = sys.argv[1:8]

def features_from_polygon(polygon, tags):
    return ox.features_from_xml(ALL, polygon=polygon, tags=tags)

def graph_from_polygon(polygon, custom_filter=None, truncate_by_edge=False, network_type=None, **kw):
    g = ox.graph_from_xml(STREETS, retain_all=True)
    return ox.truncate.truncate_graph_polygon(g, polygon, truncate_by_edge=truncate_by_edge, retain_all=True)

for mod in (ox, fetch.ox):
    mod.features_from_polygon = features_from_polygon
    mod.graph_from_polygon = graph_from_polygon
s = int(size) / 300  # prettymaps draws at 300 dpi
prettymaps.plot((float(lat), float(lon)), radius=float(radius), figsize=(s, s), save_as=out, show=False)
"""


def write_osm(geojson: Path, out_all: Path, out_streets: Path) -> tuple[float, float, float]:
    """The GeoJSON city as OSM XML (all of it, and its highways alone); returns its centre (lat, lon) and a radius
    in metres that holds it."""
    import math

    features = json.loads(geojson.read_text())["features"]
    ids: dict[tuple[float, float], int] = {}

    def node(c) -> int:
        key = (round(c[0], 7), round(c[1], 7))
        return ids.setdefault(key, len(ids) + 1)

    ways, points = [], []
    for f in features:
        g, tags = f["geometry"], {k: str(v) for k, v in f["properties"].items()}
        if g["type"] == "Point":
            points.append((node(g["coordinates"]), tags))
        elif g["type"] == "LineString":
            ways.append(([node(c) for c in g["coordinates"]], tags))
        elif g["type"] == "Polygon":
            ring = [node(c) for c in g["coordinates"][0]]
            ways.append((ring if ring[0] == ring[-1] else [*ring, ring[0]], tags))
    coords = {i: c for c, i in ids.items()}
    point_tags = dict(points)

    def write(path: Path, keep) -> None:
        chosen = [(nds, tags) for nds, tags in ways if keep(tags)]
        used = sorted({n for nds, _ in chosen for n in nds} | (set(point_tags) if keep is all_ways else set()))
        with path.open("w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="mapbrush-bench">\n')
            for i in used:
                lon, lat = coords[i]
                tags = point_tags.get(i) if keep is all_ways else None
                if tags:
                    f.write(f'<node id="{i}" version="1" lat="{lat}" lon="{lon}">')
                    f.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
                    f.write("</node>\n")
                else:
                    f.write(f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>\n')
            for w, (nds, tags) in enumerate(chosen, start=1):
                f.write(f'<way id="{w}" version="1">' + "".join(f'<nd ref="{n}"/>' for n in nds))
                f.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()) + "</way>\n")
            f.write("</osm>\n")

    def all_ways(tags) -> bool:
        return True

    write(out_all, all_ways)
    write(out_streets, lambda tags: "highway" in tags)
    lons, lats = [c[0] for c in ids], [c[1] for c in ids]
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    half_h = (max(lats) - min(lats)) / 2 * 111_320
    half_w = (max(lons) - min(lons)) / 2 * 111_320 * math.cos(math.radians(lat0))
    return lat0, lon0, max(half_h, half_w)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prettymaps-python", default=sys.executable, help="an interpreter with prettymaps 1.x installed")
    ap.add_argument("--streets", type=int, default=3000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--styles", default="poster,fantasy,watercolor")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mapbrush-python", default=sys.executable)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city.geojson"
        subprocess.run([sys.executable, "scripts/make_large_city.py", str(city), "--streets", str(args.streets)],
                       check=True, cwd=ROOT)  # fmt: skip
        osm, streets = Path(tmp) / "city.osm", Path(tmp) / "streets.osm"
        lat, lon, radius = write_osm(city, osm, streets)
        size = f"{args.size}x{args.size}"
        rows = []
        pm = [args.prettymaps_python, "-c", PRETTYMAPS, str(osm), str(streets), str(lat), str(lon), str(radius),
              str(args.size), f"{tmp}/pm.png"]  # fmt: skip
        timed(pm)  # warm-up, not counted: the OS file cache, bytecode
        rows.append(("prettymaps (default preset)", [timed(pm) for _ in range(args.runs)]))
        for style in args.styles.split(","):
            cmd = [args.mapbrush_python, "-m", "app", "render", str(osm), "--style", style, "--size", size,
                   "-o", f"{tmp}/mb.png"]  # fmt: skip
            timed(cmd)
            rows.append((f"mapbrush render --style {style}", [timed(cmd) for _ in range(args.runs)]))
        base = statistics.median(rows[0][1])
        print(
            f"{args.streets}-street city as OSM XML, {size}, wall seconds incl. process start (median of {args.runs})"
        )
        for name, times in rows:
            med = statistics.median(times)
            print(f"  {name:<36} {med:6.2f} s  {med / base:5.2f}x   (runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
