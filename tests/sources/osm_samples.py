"""Overpass-shaped OSM XML written by the tests: an alpine village in a valley (streets on a grid, a main road,
houses in blocks, a river, a lake, a park, forest on both slopes as a multipolygon with a clearing, named peaks),
and the answers Overpass gives when it fails. Deterministic: the same call writes the same bytes."""

from __future__ import annotations

import math
import random
from xml.sax.saxutils import quoteattr

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<osm version="0.6" generator="Overpass API 0.7.62.1 084b4234">\n'
    "<note>The data included in this document is from www.openstreetmap.org. "
    "The data is made available under ODbL.</note>\n"
    '<meta osm_base="2024-05-01T12:00:00Z"/>\n'
)


class _Doc:
    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.rels: list[str] = []
        self.next = 1000

    def _id(self) -> int:
        self.next += 1
        return self.next

    @staticmethod
    def _tags(tags: dict) -> str:
        return "".join(f"\n    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items())

    def node(self, lon: float, lat: float, tags: dict | None = None) -> int:
        i = self._id()
        if tags:
            self.nodes.append(f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}">{self._tags(tags)}\n  </node>')
        else:
            self.nodes.append(f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
        return i

    def way(self, coords, tags: dict | None = None, closed: bool = False) -> int:
        ids = [self.node(x, y) for x, y in coords]
        if closed:
            ids.append(ids[0])
        i = self._id()
        nds = "".join(f'\n    <nd ref="{n}"/>' for n in ids)
        self.ways.append(f'  <way id="{i}">{nds}{self._tags(tags or {})}\n  </way>')
        return i

    def relation(self, members: list[tuple[int, str]], tags: dict) -> int:
        i = self._id()
        mem = "".join(f'\n    <member type="way" ref="{w}" role="{r}"/>' for w, r in members)
        self.rels.append(f'  <relation id="{i}">{mem}{self._tags(tags)}\n  </relation>')
        return i

    def xml(self) -> bytes:
        body = "\n".join(self.nodes + self.ways + self.rels)
        return (HEAD + body + "\n</osm>\n").encode("utf-8")


def _ring(cx, cy, rx, ry, n, rng, wobble=0.15):
    out = []
    for k in range(n):
        t = 2 * math.pi * k / n
        jx, jy = 1 + rng.uniform(-wobble, wobble), 1 + rng.uniform(-wobble, wobble)
        out.append((cx + rx * math.cos(t) * jx, cy + ry * math.sin(t) * jy))
    return out


def village_xml(bbox=(13.755, 46.470, 13.805, 46.495), name: str = "Kranjska Gora", seed: int = 7) -> bytes:
    """A valley village filling `bbox` (west, south, east, north): some 600 features."""
    rng = random.Random(seed)
    w, s, e, n = bbox
    dx, dy = e - w, n - s
    cy = s + dy * 0.5
    d = _Doc()
    d.node(w + dx * 0.5, cy + dy * 0.02, {"place": "village", "name": name, "population": "1500"})
    d.node(w + dx * 0.12, cy + dy * 0.05, {"place": "hamlet", "name": "Podkoren"})
    d.node(w + dx * 0.3, s + dy * 0.08, {"natural": "peak", "name": "Vitranc", "ele": "1631"})
    d.node(w + dx * 0.75, n - dy * 0.06, {"natural": "peak", "name": "Prisank", "ele": "2547"})
    # forest on both slopes: a multipolygon with a clearing, and a plain closed way
    outer = d.way([(w, s), (e, s), (e, s + dy * 0.28), (w + dx * 0.5, s + dy * 0.24), (w, s + dy * 0.3)], closed=True)
    inner = d.way(_ring(w + dx * 0.6, s + dy * 0.12, dx * 0.05, dy * 0.05, 10, rng), closed=True)
    d.relation([(outer, "outer"), (inner, "inner")], {"type": "multipolygon", "landuse": "forest"})
    north = [(w, n), (e, n), (e, n - dy * 0.25), (w + dx * 0.4, n - dy * 0.3), (w, n - dy * 0.22)]
    d.way(north, {"natural": "wood"}, True)
    d.way(_ring(w + dx * 0.6, s + dy * 0.12, dx * 0.045, dy * 0.045, 10, rng), {"landuse": "meadow"}, True)
    # river along the valley, a lake, a park
    river = [(w + dx * t, cy - dy * 0.12 + dy * 0.04 * math.sin(t * 9)) for t in (k / 40 for k in range(41))]
    d.way(river, {"waterway": "river", "name": "Sava Dolinka"})
    lake = _ring(w + dx * 0.22, cy - dy * 0.1, dx * 0.05, dy * 0.035, 16, rng, 0.05)
    d.way(lake, {"natural": "water", "name": "Jasna"}, True)
    park = _ring(w + dx * 0.62, cy + dy * 0.1, dx * 0.03, dy * 0.03, 8, rng, 0.05)
    d.way(park, {"leisure": "park", "name": "Vaški park"}, True)
    # main road and a grid of streets
    main = [(w + dx * t, cy + dy * 0.01 * math.sin(t * 5)) for t in (k / 30 for k in range(31))]
    d.way(main, {"highway": "primary", "name": "Borovška cesta", "ref": "201"})
    names = ["Vitranška ulica", "Koroška ulica", "Naselje Slavka Černeta", "Kolodvorska ulica", "Podbreška cesta",
             "Smerinje", "Delavska cesta", "Jezerci"]  # fmt: skip
    for k in range(8):
        x = w + dx * (0.36 + 0.04 * k)
        d.way([(x, cy - dy * 0.08), (x + dx * 0.005, cy + dy * 0.16)], {"highway": "residential", "name": names[k]})
    for k in range(4):
        y = cy + dy * (0.04 + 0.035 * k)
        d.way([(w + dx * 0.35, y), (w + dx * 0.68, y)], {"highway": "residential"})
    d.way([(w + dx * 0.45, cy - dy * 0.09), (w + dx * 0.5, s + dy * 0.2), (w + dx * 0.47, s + dy * 0.05)],
          {"highway": "path", "name": "Pot na Vitranc"})  # fmt: skip
    d.way([(w, cy + dy * 0.2), (e, cy + dy * 0.21)], {"railway": "abandoned"})
    # houses in the blocks
    for k in range(7):
        for j in range(4):
            x0, y0 = w + dx * (0.365 + 0.04 * k), cy + dy * (0.045 + 0.035 * j)
            for m in range(3):
                bx, by = x0 + dx * (0.004 + 0.011 * m), y0 + dy * 0.006
                sx, sy = dx * rng.uniform(0.004, 0.007), dy * rng.uniform(0.008, 0.014)
                d.way([(bx, by), (bx + sx, by), (bx + sx, by + sy), (bx, by + sy)], {"building": "house"}, True)
    d.node(w + dx * 0.52, cy + dy * 0.03, {"amenity": "place_of_worship", "name": "Župnijska cerkev"})
    d.node(w + dx * 0.47, cy + dy * 0.07, {"tourism": "hotel", "name": "Hotel Kompas"})
    return d.xml()


def remark_xml(text: str = 'runtime error: Query timed out in "query" at line 3 after 26 seconds.') -> bytes:
    return (HEAD + f"<remark> {text} </remark>\n\n</osm>\n").encode()


def bomb_xml() -> bytes:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY lol0 "lol">' + lol + ']>\n<osm version="0.6">'
        '<node id="1" lat="46.48" lon="13.78"><tag k="name" v="&lol9;"/></node></osm>'
    ).encode()


def search_json(name="Kranjska Gora", lat=46.4845, lon=13.7856, kind="village", rank=19,
                country="Slovenia", bbox=(13.7706, 46.4745, 13.8006, 46.4945)) -> list[dict]:  # fmt: skip
    """A Nominatim /search?format=jsonv2&addressdetails=1 answer of one place."""
    w, s, e, n = bbox
    return [
        {
            "place_id": 126730,
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
            "osm_type": "relation",
            "osm_id": 1675394,
            "lat": f"{lat}",
            "lon": f"{lon}",
            "category": "place",
            "type": kind,
            "place_rank": rank,
            "importance": 0.51,
            "addresstype": kind,
            "name": name,
            "display_name": f"{name}, Upravna Enota Jesenice, {country}",
            "address": {kind: name, "county": "Upravna Enota Jesenice", "country": country, "country_code": "si"},
            "boundingbox": [f"{s}", f"{n}", f"{w}", f"{e}"],
        }
    ]
