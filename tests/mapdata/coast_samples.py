"""A Helsinki-like OSM XML extract with a coast, written the ways real extract tools write them. Not a test module.

The box is 24.90..25.02 E x 60.140..60.185 N. The mainland is in the north and its shore runs west→east (land on
the left, as OSM draws coastlines) with two peninsulas (an "Eira" and a "Katajanokka") reaching south into the bay;
a headland comes in from the east edge; three islands are closed counter-clockwise rings, and a fourth is cut by the
south edge. The mainland shore is five ways: two of them meet a few metres apart instead of sharing a node.

`cut` says what the extract tool did to the ways that leave the box:
- "none":  complete ways; the nodes outside the box are in the file (osmium extract -s complete_ways, Overpass `>`).
- "refs":  the ways keep their references to nodes outside the box, but those nodes are not in the file
           (osmium extract -s simple).
- "trim":  the ways are cut at their last node inside the box; a way that leaves and comes back becomes two ways.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import shapely
from shapely.geometry import LineString, Polygon

BOUNDS = (24.90, 60.140, 25.02, 60.185)

# West → east, land on the left. Starts and ends outside the box.
_MAINLAND = [
    (24.890, 60.1700), (24.908, 60.1690), (24.915, 60.1650), (24.921, 60.1570), (24.926, 60.1530),
    (24.933, 60.1515),  # Eira's tip
    (24.940, 60.1540), (24.944, 60.1590), (24.948, 60.1640), (24.953, 60.1668),  # the South Harbour's head
    (24.958, 60.1660), (24.961, 60.1630), (24.966, 60.1605), (24.972, 60.1612),  # Katajanokka's tip
    (24.975, 60.1650), (24.971, 60.1690), (24.978, 60.1720), (24.990, 60.1740), (25.003, 60.1735),
    (25.012, 60.1760), (25.030, 60.1780),
]  # fmt: skip
# The mainland shore's ways, as index ranges into _MAINLAND (consecutive ways share their end node).
_MAINLAND_WAYS = [(0, 5), (5, 9), (9, 13), (13, 16), (16, 20)]
_GAP_AFTER = 1  # way 1 and way 2 do not share a node: way 2 starts a few metres off
# Comes in from the east edge along its north shore (heading west), rounds its tip, goes back out.
_HEADLAND = [(25.030, 60.1560), (25.012, 60.1575), (25.004, 60.1560), (25.001, 60.1520), (25.006, 60.1490),
             (25.015, 60.1480), (25.030, 60.1470)]  # fmt: skip
# (centre lon, centre lat, half-width in lon, half-height in lat, name)
_ISLANDS = [
    (24.985, 60.1470, 0.0050, 0.0022, "Suomenlinna"),
    (24.953, 60.1560, 0.0018, 0.0010, "Valkosaari"),
    (24.991, 60.1660, 0.0030, 0.0014, "Korkeasaari"),
    (24.915, 60.1410, 0.0060, 0.0030, "Harakka"),  # reaches below the south edge
]

# Points to test against: open water, the harbour, between the headland and the mainland, the south-west bay.
SEA_POINTS = [(24.960, 60.1450), (24.953, 60.1620), (24.990, 60.1590), (25.017, 60.1650), (24.905, 60.1500)]
# The town, both peninsulas, the headland, and two islands.
LAND_POINTS = [(24.930, 60.1780), (24.933, 60.1580), (24.966, 60.1640), (25.010, 60.1525), (24.985, 60.1470),
               (24.991, 60.1660)]  # fmt: skip


def _densify(points, step: float = 0.0006) -> list[tuple[float, float]]:
    """Nodes every ~35 m along the polyline, with a small deterministic wobble like a traced shore."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        n = max(1, math.ceil(math.hypot(x1 - x0, (y1 - y0) * 2) / step))
        for i in range(1, n + 1):
            t = i / n
            wob = 0.00008 * math.sin(37.0 * (x0 + t * (x1 - x0)) * 100 + 11.0 * y0) if i < n else 0.0
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0) + wob))
    return out


def _ring(cx, cy, rx, ry, n=24) -> list[tuple[float, float]]:
    """A counter-clockwise, slightly irregular ring (land inside), closed."""
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 1 + 0.18 * math.sin(3 * a + cx * 100) + 0.08 * math.cos(5 * a)
        pts.append((round(cx + rx * r * math.cos(a), 7), round(cy + ry * r * math.sin(a), 7)))
    return [*pts, pts[0]]


def land_polygon() -> shapely.Geometry:
    """The land the design means, inside the box (for placing streets and checking the reader)."""
    top = BOUNDS[3] + 0.05
    mainland = Polygon([*_MAINLAND, (_MAINLAND[-1][0], top), (_MAINLAND[0][0], top)])
    headland = Polygon(_HEADLAND)
    islands = [Polygon(_ring(cx, cy, rx, ry)) for cx, cy, rx, ry, _ in _ISLANDS]
    return shapely.intersection(shapely.union_all([mainland, headland, *islands]), shapely.box(*BOUNDS))


def _inside(p) -> bool:
    return BOUNDS[0] <= p[0] <= BOUNDS[2] and BOUNDS[1] <= p[1] <= BOUNDS[3]


class _Writer:
    def __init__(self) -> None:
        self.nodes: dict[int, tuple[float, float]] = {}
        self.node_tags: dict[int, dict] = {}
        self.ways: list[tuple[int, list[int], dict]] = []
        self._next_node, self._next_way = 1, 1000

    def node(self, p, tags=None) -> int:
        nid = self._next_node
        self._next_node += 1
        self.nodes[nid] = (round(p[0], 7), round(p[1], 7))
        if tags:
            self.node_tags[nid] = tags
        return nid

    def way(self, refs: list[int], tags: dict) -> None:
        self.ways.append((self._next_way, refs, tags))
        self._next_way += 1


def _coast_ways(w: _Writer, reverse: bool, misdrawn: int | None = None) -> None:
    main = _densify(_MAINLAND)
    # where each control point of _MAINLAND landed in the densified list
    marks = [min(range(len(main)), key=lambda i, p=p: (main[i][0] - p[0]) ** 2 + (main[i][1] - p[1]) ** 2)
             for p in _MAINLAND]  # fmt: skip
    ids = [w.node(p) for p in main]
    for k, (a, b) in enumerate(_MAINLAND_WAYS):
        refs = ids[marks[a] : marks[b] + 1]
        if k == _GAP_AFTER + 1:  # starts ~4 m from where the previous way ended, not on its node
            x, y = main[marks[a]]
            refs = [w.node((x + 0.00004, y - 0.00002)), *refs[1:]]
        w.way(refs[::-1] if reverse != (k == misdrawn) else refs, {"natural": "coastline"})
    head = [w.node(p) for p in _densify(_HEADLAND)]
    w.way(head[::-1] if reverse else head, {"natural": "coastline"})
    for cx, cy, rx, ry, name in _ISLANDS:
        ring = _ring(cx, cy, rx, ry)
        refs = [w.node(p) for p in ring[:-1]]
        refs.append(refs[0])
        w.way(refs[::-1] if reverse else refs, {"natural": "coastline", "place": "islet", "name": name})


def _town(w: _Writer) -> None:
    land = land_polygon().buffer(-0.0003)
    names = iter(["Mannerheimintie", "Bulevardi", "Esplanadi", "Aleksanterinkatu", "Pohjoisesplanadi", "Unioninkatu",
                  "Fredrikinkatu", "Albertinkatu", "Annankatu", "Yrjönkatu", "Lönnrotinkatu"])  # fmt: skip
    x0, y0, x1, y1 = BOUNDS
    lines = [LineString([(x0, y), (x1, y)]) for y in [60.1545 + 0.0030 * i for i in range(10)]]
    lines += [LineString([(x, y0), (x, y1)]) for x in [24.9035 + 0.0065 * i for i in range(18)]]
    for k, line in enumerate(lines):
        for part in shapely.get_parts(shapely.intersection(line, land)):
            if part.length < 0.002:
                continue
            refs = [w.node(p) for p in part.coords]
            kind = "primary" if k % 4 == 0 else "residential"
            tags = {"highway": kind} | ({"name": next(names, f"Katu {k}")} if k % 2 == 0 else {})
            w.way(refs, tags)
    for i in range(12):
        for j in range(7):
            cx, cy = 24.9060 + 0.0065 * i + 0.0032, 60.1560 + 0.0030 * j + 0.0015
            sq = [(cx, cy), (cx + 0.0012, cy), (cx + 0.0012, cy + 0.0006), (cx, cy + 0.0006)]
            if land.contains(Polygon(sq)):
                refs = [w.node(p) for p in sq]
                w.way(refs + refs[:1], {"building": "yes"})
    w.node((24.945, 60.1700), {"place": "city", "name": "Helsinki"})
    w.node((24.952, 60.1675), {"amenity": "marketplace", "name": "Kauppatori"})


def _cut(w: _Writer, cut: str) -> None:
    """Do to the ways what an extract tool does: see the module docstring."""
    if cut == "none":
        return
    inside = {nid for nid, p in w.nodes.items() if _inside(p)}
    ways = []
    for wid, refs, tags in w.ways:
        if cut == "refs":
            if any(r in inside for r in refs):
                ways.append((wid, refs, tags))
            continue
        runs, run = [], []
        for r in refs:
            if r in inside:
                run.append(r)
            elif run:
                runs.append(run)
                run = []
        runs += [run] if run else []
        for k, run in enumerate(r for r in runs if len(r) >= 2):
            ways.append((wid if k == 0 else wid * 1000 + k, run, tags))  # a new id for the second piece
    w.ways = sorted(ways)
    w.nodes = {nid: p for nid, p in w.nodes.items() if nid in inside}


def write_helsinki(
    path: Path,
    *,
    bounds: bool = True,
    cut: str = "trim",
    reverse: bool = False,
    coast: bool = True,
    misdrawn: int | None = None,
) -> Path:
    """Write the extract to `path`; `reverse` turns every coastline way round (land and sea swap); `coast=False`
    leaves the coastline ways out (the town alone); `misdrawn=k` draws the k-th way of the mainland shore the wrong
    way round, a common mapping error."""
    w = _Writer()
    if coast:
        _coast_ways(w, reverse, misdrawn)
    _town(w)
    _cut(w, cut)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="osmium/1.16.0">']
    if bounds:
        out.append('  <bounds minlon="{}" minlat="{}" maxlon="{}" maxlat="{}"/>'.format(*BOUNDS))
    for nid, (lon, lat) in w.nodes.items():
        tags = w.node_tags.get(nid)
        attrs = f'id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"'
        if tags:
            body = "".join(f'\n    <tag k="{k}" v="{v}"/>' for k, v in tags.items())
            out.append(f"  <node {attrs}>{body}\n  </node>")
        else:
            out.append(f"  <node {attrs}/>")
    for wid, refs, tags in w.ways:
        body = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
        body += "".join(f'\n    <tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'  <way id="{wid}" version="1">{body}\n  </way>')
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys

    cut = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else "trim"
    write_helsinki(Path(sys.argv[1]), bounds="--no-bounds" not in sys.argv, cut=cut)
