"""Generate the bundled demo data: the fictional harbour town of Salthaven.

Writes resources/examples/harbour_town.geojson (OSM-style tags, lon/lat) and
resources/examples/harbour_hike.gpx (a two-segment hike with waypoints).
Deterministic (fixed seed), no network. The town is invented; any likeness is chance.

    python scripts/make_demo_data.py [--out resources/examples] [--seed 1859]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

W, H = 3000.0, 2500.0  # local metres: x east, y north
FRAME = box(0, 0, W, H)
LON0, LAT0 = 10.0, 59.0  # the frame centre
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
HALF_WIDTH = {"motorway": 12, "primary": 8, "secondary": 7, "tertiary": 6, "residential": 5, "service": 3}
HALF_WIDTH.update({"footway": 2, "cycleway": 2, "path": 1.5, "pedestrian": 4})
CENTRE = (1400.0, 1270.0)  # the market square
ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- geometry helpers
def chaikin(pts, iters=3, closed=False):
    p = np.asarray(pts, float)
    for _ in range(iters):
        q = np.vstack([p, p[:1]]) if closed else p
        a, b = q[:-1], q[1:]
        new = np.empty((2 * len(a), 2))
        new[0::2], new[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        p = new if closed else np.vstack([p[:1], new, p[-1:]])
    return p


def wobbly(p0, p1, rng, amp=12.0, waves=1.5, n=24):
    """A street from p0 to p1 that curves gently (old towns are never straight)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    t = np.linspace(0, 1, n)[:, None]
    d = p1 - p0
    normal = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1)
    phase = rng.uniform(0, 2 * math.pi)
    off = amp * np.sin(math.pi * waves * t + phase) * np.sin(math.pi * t) ** 0.5
    return p0 + d * t + normal * off


def blob(cx, cy, r, rng, rough=0.22, n=72, aspect=1.0, turn=0.0):
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    rad = np.ones(n)
    for k in (2, 3, 5, 7):
        rad += rough / k**0.7 * np.sin(k * a + rng.uniform(0, 2 * math.pi))
    x, y = r * rad * np.cos(a) * aspect, r * rad * np.sin(a)
    c, s = math.cos(turn), math.sin(turn)
    return Polygon(np.c_[cx + c * x - s * y, cy + s * x + c * y]).buffer(0)


def ribbon(pts, widths):
    """A polygon along a polyline with a varying width (rivers widening to their mouth)."""
    p = np.asarray(pts, float)
    tang = np.gradient(p, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    nrm = np.c_[-tang[:, 1], tang[:, 0]] * (np.asarray(widths)[:, None] / 2)
    return Polygon(np.vstack([p + nrm, (p - nrm)[::-1]])).buffer(0)


def parts(geom):
    if geom.is_empty:
        return []
    return list(getattr(geom, "geoms", [geom]))


def height(x, y):
    """Terrain in metres: a coastal slope and two wooded hills."""
    h = 3 + np.clip(y - 900, 0, None) * 0.035
    h = h + 150 * np.exp(-((x - 2580) ** 2 + (y - 2120) ** 2) / (2 * 260**2))
    return h + 95 * np.exp(-((x - 150) ** 2 + (y - 2250) ** 2) / (2 * 240**2))


def to_lonlat(xy):
    xy = np.asarray(xy, float)
    lon = LON0 + (xy[:, 0] - W / 2) / M_PER_DEG_LON
    lat = LAT0 + (xy[:, 1] - H / 2) / M_PER_DEG_LAT
    return np.round(np.c_[lon, lat], 6)


# ----------------------------------------------------------------------------------------------- the town
class Town:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.features: list[tuple[object, dict]] = []
        self.raw_roads: list[tuple[LineString, dict, bool]] = []
        self.roads: list[tuple[LineString, dict]] = []
        self.obstacles: list[object] = []  # where no building may stand (besides roads)
        self.districts: dict[str, Polygon] = {}

    def add(self, geom, **tags):
        for g in parts(geom) if geom.geom_type.startswith("Multi") and "building" in tags else [geom]:
            if not g.is_empty:
                self.features.append((g, {k: v for k, v in tags.items() if v is not None}))

    def road(self, pts, highway, name=None, bridge_ok=False, **tags):
        line = LineString(np.asarray(pts, float))
        self.raw_roads.append((line, {"highway": highway, "name": name, **tags}, bridge_ok))

    # ---- water, coast and land cover
    def water(self):
        rng = self.rng
        coast = [(-60, 830), (200, 805), (380, 850), (560, 830), (760, 790), (960, 760), (1080, 800)]
        coast += [(1150, 890), (1230, 965), (1400, 990), (1560, 995), (1700, 1000), (1830, 975)]
        coast += [(1935, 905), (1995, 760), (2030, 600), (2055, 420), (2085, 285), (2145, 215), (2215, 255)]
        coast += [(2250, 400), (2300, 530), (2450, 575), (2700, 590), (3060, 625)]
        coast = np.array(coast, float)
        quay = (coast[:, 0] > 1200) & (coast[:, 0] < 1850)
        coast[~quay] += rng.normal(0, 9, (int((~quay).sum()), 2))
        line = chaikin(coast, 3)
        sea = Polygon(np.vstack([line, [(3060, -60), (-60, -60)]])).buffer(0)
        islets = [blob(1560, 470, 55, rng, 0.35), blob(1700, 380, 28, rng, 0.3), blob(640, 520, 40, rng, 0.3)]
        self.islets = islets
        river_pts = chaikin(
            [
                (1880, 2560),
                (1800, 2300),
                (1905, 2050),
                (1840, 1800),
                (1730, 1560),
                (1785, 1300),
                (1735, 1120),
                (1705, 1000),
                (1690, 930),
            ],
            4,
        )
        seg = np.r_[0, np.cumsum(np.hypot(*np.diff(river_pts, axis=0).T))]
        widths = 22 + 55 * np.clip((seg - (seg[-1] - 280)) / 280, 0, 1) ** 2
        river_area = ribbon(river_pts, widths)
        lake = blob(430, 2160, 125, rng, 0.3, aspect=1.3, turn=0.4)
        beck = chaikin([(455, 2040), (490, 1820), (430, 1610), (515, 1400), (470, 1190), (555, 1000), (560, 800)], 4)
        self.piers = [box(x - 6, 990 - n, x + 6, 1012) for x, n in [(1290, 150), (1410, 190), (1530, 150)]]
        self.mole = LineString([(1060, 790), (1200, 740), (1340, 725)]).buffer(8, cap_style="flat")
        self.sea = sea.difference(shapely.union_all([*islets, *self.piers, self.mole])).intersection(FRAME)
        self.river_line, self.river_area, self.lake = LineString(river_pts), river_area, lake
        self.beck = LineString(beck)
        self.wet = shapely.union_all([sea, river_area, lake])  # roads stop here unless they bridge
        self.land = FRAME.difference(self.wet)
        self.obstacles += [self.wet, self.beck.buffer(7)]

    def cover(self):
        rng = self.rng
        woods = [blob(180, 2200, 270, rng, 0.3), blob(2590, 2110, 330, rng, 0.28, aspect=1.2, turn=-0.5)]
        woods += [blob(1020, 2270, 120, rng, 0.35), blob(2900, 1300, 140, rng, 0.3)]
        woods = [w.difference(self.wet).intersection(FRAME) for w in woods]
        park = blob(1090, 1560, 95, rng, 0.12, aspect=1.35, turn=0.2)
        riverside = self.river_line.buffer(75).intersection(box(1650, 1450, 2100, 1900)).difference(self.river_area)
        peninsula = box(1950, 150, 2350, 640).intersection(self.land)
        docks = box(1790, 860, 2010, 1010).intersection(self.land)
        cemetery = blob(1560, 1560, 45, rng, 0.05, aspect=1.4)
        meadows = [blob(120, 1500, 160, rng, 0.25), blob(2950, 2000, 120, rng, 0.2), blob(330, 1150, 70, rng, 0.3)]
        farms = [blob(700, 2230, 150, rng, 0.2, aspect=1.6), blob(2250, 2250, 140, rng, 0.2, aspect=1.8)]
        farms = [f.difference(self.wet) for f in farms]
        self.park, self.docks = park, docks
        mouth = box(1600, 900, 1850, 1250)
        self.obstacles += [*woods, park, riverside, peninsula, cemetery, *meadows, *farms, Point(CENTRE).buffer(38)]
        self.districts = {
            "old": Point(CENTRE).buffer(470).intersection(self.land).difference(box(1700, 0, W, H)),
            "north": Polygon([(600, 1330), (1250, 1430), (1330, 1960), (640, 1940)]),
            "east": Polygon([(1790, 1040), (2300, 880), (2780, 800), (2820, 1400), (2400, 1740), (1880, 1700)]),
            "docks": docks,
            "mill": blob(400, 1430, 200, rng, 0.2).difference(self.beck.buffer(12)),
        }
        for geom, tags in [
            (self.sea, {"natural": "sea", "name": "Salthaven Sound"}),
            (self.river_area.intersection(FRAME).difference(mouth), {"natural": "water", "water": "river"}),
            (self.river_area.intersection(mouth), {"natural": "water", "water": "river", "name": "Salt River Mouth"}),
            (self.lake, {"natural": "water", "water": "lake", "name": "Ravensmere"}),
            (woods[0], {"natural": "wood", "name": "Ravens Wood"}),
            (woods[1], {"landuse": "forest", "name": "Gull Hill Forest"}),
            (woods[2], {"natural": "wood"}),
            (woods[3], {"landuse": "forest"}),
            (park, {"leisure": "park", "name": "Town Park"}),
            (riverside, {"leisure": "park", "name": "Riverside Park"}),
            (peninsula, {"landuse": "meadow", "name": "Lighthouse Point"}),
            (cemetery, {"landuse": "cemetery", "name": "St Brendan's Churchyard"}),
            (meadows[0], {"landuse": "meadow"}),
            (meadows[1], {"landuse": "meadow"}),
            (meadows[2], {"landuse": "meadow"}),
            (farms[0], {"landuse": "farmland"}),
            (farms[1], {"landuse": "farmland"}),
            (docks, {"landuse": "industrial", "name": "Salthaven Docks"}),
        ]:
            self.add(geom, **tags)
        self.add(self.river_line.intersection(FRAME), waterway="river", name="Salt River")
        self.add(self.beck, waterway="stream", name="Mill Beck")
        for islet, name in zip(self.islets, ["Seal Rock", None, "Gannet Skerry"]):
            self.add(islet.representative_point(), place="islet", name=name or "Little Seal")

    def harbour(self):
        for p in self.piers:
            self.add(p, man_made="pier")
            x0, y0, x1, y1 = p.bounds
            self.road([((x0 + x1) / 2, y1 - 4), ((x0 + x1) / 2, y0 + 5)], "footway", None, bridge_ok=True)
        self.add(self.mole, man_made="breakwater", name="South Mole")
        self.obstacles += [*self.piers, self.mole]

    # ---- roads
    def main_roads(self):
        r = self.road
        r([(-20, 925), (250, 915)], "primary", "Coast Road", ref="B74")
        r(
            [
                (250, 915),
                (600, 905),
                (950, 880),
                (1120, 962),
                (1250, 1030),
                (1450, 1040),
                (1650, 1045),
                (1800, 1032),
                (1920, 985),
            ],
            "secondary",
            "Harbour Street",
            bridge_ok=True,
        )
        r(
            chaikin([(1920, 985), (1990, 900), (2055, 700), (2090, 480), (2120, 310), (2150, 262)], 2),
            "tertiary",
            "Lighthouse Road",
        )
        r(
            chaikin([(1920, 985), (2200, 890), (2500, 725), (2750, 705), (3020, 720)], 2),
            "secondary",
            "Eastcliff Road",
            ref="B74",
        )
        ring = [(250, 915), (240, 1300), (330, 1700), (600, 1965), (950, 2080), (1350, 2130), (1800, 2120)]
        ring += [(2200, 2000), (2500, 1780), (2750, 1450), (2820, 1100), (2780, 800), (2700, 712)]
        r(chaikin(ring, 3), "primary", "Ring Road", bridge_ok=True, ref="B74")
        r(
            chaikin([(-20, 2380), (800, 2440), (1600, 2455), (2400, 2420), (3020, 2460)], 3),
            "motorway",
            "Northern Motorway",
            bridge_ok=True,
            ref="M11",
        )
        r([*wobbly(CENTRE, (1370, 1720), self.rng, 10).tolist(), (1340, 2130), (1330, 2450)], "primary", "North Road")
        r(wobbly((1438, 1282), (2050, 1330), self.rng, 15), "tertiary", "Bridge Street", bridge_ok=True)

    def old_town(self):
        rng, (cx, cy) = self.rng, CENTRE
        names = iter(
            [
                "Market Street",
                "Chapel Lane",
                "Mill Lane",
                "Rope Walk",
                "Fishers Row",
                "Tanners Lane",
                "Saltpan Street",
                "Anchor Lane",
                "Coopers Row",
                "Net Loft Lane",
                "Kirk Street",
                "Bell Lane",
                "Smithy Wynd",
                "Gannet Lane",
                "Herring Steps",
            ]
        )
        for ang, r0, ln in [(10, 40, 150), (35, 40, 470), (62, 150, 420), (118, 40, 470), (145, 280, 470)]:
            for a0, a1 in [(ang, ang + rng.uniform(-12, 12))]:
                a0, a1 = math.radians(a0), math.radians(a1)
                start = (cx + r0 * math.cos(a0), cy + r0 * math.sin(a0))
                end = (cx + ln * math.cos(a1), cy + ln * math.sin(a1))
                self.road(wobbly(start, end, rng, 22, rng.uniform(1, 2.5)), "residential", next(names))
        for ang, r0, ln in [(172, 40, 470), (200, 140, 420), (90 + 45, 40, 150)]:
            a0, a1 = math.radians(ang), math.radians(ang + rng.uniform(-15, 15))
            start = (cx + r0 * math.cos(a0), cy + r0 * math.sin(a0))
            self.road(
                wobbly(start, (cx + ln * math.cos(a1), cy + ln * math.sin(a1)), rng, 18), "residential", next(names)
            )
        for ang in (228, 252, 272, 292, 318):
            a = math.radians(ang + rng.uniform(-4, 4))
            start = (cx + 40 * math.cos(a), cy + 40 * math.sin(a))
            self.road(
                wobbly(start, (cx + 330 * math.cos(a), cy + 330 * math.sin(a)), rng, 8), "residential", next(names)
            )
        arcs = [("Castle Wynd", 140, 160, 40), ("Weavers Walk", 270, 185, 70), ("Crescent", 400, 175, 95)]
        arcs += [("Southgate", 150, 320, 190), ("Gallows Brae", 300, 100, -8), ("Kirk Wynd", 220, 60, 10)]
        arcs += [("Dyers Lane", 380, 80, 20)]
        for name, rad, a0, a1 in arcs:
            a = np.radians(np.linspace(a0, a1, 40))
            rr = rad + 18 * np.sin(3 * a + rng.uniform(0, 6)) + 10 * np.sin(7 * a + rng.uniform(0, 6))
            self.road(np.c_[cx + rr * np.cos(a), cy + rr * np.sin(a)], "residential", name)
        # alleys between the radials
        for _ in range(14):
            a, rad = rng.uniform(math.radians(-20), math.radians(200)), rng.uniform(180, 420)
            p = (cx + rad * math.cos(a), cy + rad * math.sin(a))
            q = (p[0] + rng.normal(0, 60), p[1] + rng.normal(0, 60))
            self.road(wobbly(p, q, rng, 5), "footway" if rng.random() < 0.5 else "service", None)

    def grid(self, key, origin, angle, du, dv, names_u, names_v, main_every=4):
        poly = self.districts[key].difference(self.park).intersection(self.land)
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        ox, oy = origin
        for names, step, along in ((names_u, du, (c, s)), (names_v, dv, (-s, c))):
            across = (-along[1], along[0])
            for i, k in enumerate(range(-9, 10)):
                base = (ox + across[0] * k * step, oy + across[1] * k * step)
                line = LineString(
                    [
                        (base[0] - along[0] * 1500, base[1] - along[1] * 1500),
                        (base[0] + along[0] * 1500, base[1] + along[1] * 1500),
                    ]
                )
                for part in parts(line.intersection(poly.buffer(25))):
                    if part.length > 60:
                        hw = "tertiary" if k % main_every == 0 else "residential"
                        self.road(list(part.coords), hw, names[i % len(names)])
        for _ in range(10):  # service spurs and footpaths into the blocks
            p = Point(self.rng.uniform(*poly.bounds[0::2]), self.rng.uniform(*poly.bounds[1::2]))
            if poly.contains(p):
                q = (p.x + c * self.rng.choice([-45, 45]), p.y + s * self.rng.choice([-45, 45]))
                self.road([(p.x, p.y), q], "service", None)

    def paths(self):
        r, rng = self.road, self.rng
        park = np.array(self.park.exterior.coords)
        r([park[0], park[len(park) // 2]], "footway", "Park Walk")
        r([park[len(park) // 4], park[3 * len(park) // 4]], "footway", None)
        r(self.park.exterior.coords, "footway", None)
        lake_ring = self.lake.buffer(18).exterior
        r(lake_ring.coords, "footway", "Ravensmere Path")
        r([lake_ring.interpolate(lake_ring.project(Point(600, 1965))).coords[0], (600, 1965)], "footway", None)
        river = np.array(self.river_line.parallel_offset(45, "left").coords)
        river = river[(river[:, 1] > 1080) & (river[:, 1] < 2110)]
        r(river, "cycleway", "River Path")
        quay = np.array([(1180, 975), (1280, 1002), (1400, 1008), (1550, 1012), (1660, 1018)])
        r(quay, "footway", "Quayside")
        trail = [
            (2210, 1690),
            (2250, 1800),
            (2300, 1928),
            (2380, 1960),
            (2330, 2010),
            (2430, 2040),
            (2390, 2090),
            (2500, 2110),
            (2580, 2120),
        ]
        r(chaikin(trail, 2), "path", "Gull Hill Trail")
        r(chaikin([(2580, 2120), (2700, 2060), (2760, 1900), (2790, 1700), (2760, 1480)], 2), "path", "Ridge Path")
        r(
            chaikin([(2150, 262), (2230, 330), (2270, 450), (2240, 560), (2160, 640), (2072, 662)], 2),
            "footway",
            "Cliff Walk",
        )
        r([(1960, 1335), (2130, 1400)], "service", "Station Yard")
        for x0 in (1830, 1900, 1960):  # docks
            r([(x0, 1000), (x0 + rng.uniform(-10, 10), 880)], "service", None)
        r(chaikin([(100, 975), (130, 1300), (60, 1600)], 2), "residential", "Beck Farm Lane")
        r(chaikin([(240, 1500), (400, 1480), (560, 1520), (640, 1560)], 2), "tertiary", "Mill End Road")
        r(chaikin([(1330, 1960), (1600, 1900), (1790, 1700)], 2), "residential", "Kiln Lane")
        r(chaikin([(245, 1330), (380, 1365), (530, 1300), (640, 1340)], 2), "residential", "Millrace Lane")
        r(chaikin([(420, 1495), (445, 1650), (380, 1790), (330, 1700)], 2), "residential", "Kiln Brae")

    def rail(self):
        line = LineString(chaikin([(3020, 1810), (2700, 1620), (2400, 1480), (2150, 1390), (1965, 1345)], 3))
        self.add(line, railway="rail", name="Coast Line", usage="branch")
        self.add(LineString([(2150, 1390), (1985, 1325)]), railway="rail", service="siding")
        self.obstacles.append(line.buffer(11))
        self.rail_line = line

    def finish_roads(self):
        """Snap dangling ends onto nearby roads, then cut roads at water (or mark bridges)."""
        lines = [g for g, _, _ in self.raw_roads]
        tree = shapely.STRtree(lines)
        for i, (line, tags, bridge_ok) in enumerate(self.raw_roads):
            coords = list(line.coords)
            for end in (0, -1):
                p = Point(coords[end])
                near = [j for j in tree.query(p.buffer(55)) if j != i and lines[j].distance(p) < 55]
                if not near or any(lines[j].distance(p) < 0.5 for j in near):
                    continue
                j = min(near, key=lambda j: lines[j].distance(p))
                q = lines[j].interpolate(lines[j].project(p)).coords[0]
                coords = [*coords, q] if end == -1 else [q, *coords]
            line = LineString(coords).intersection(FRAME)
            dry = line.difference(self.wet)
            for part in parts(shapely.line_merge(dry) if dry.geom_type == "MultiLineString" else dry):
                if part.length > 12:
                    self.roads.append((part, tags))
            if bridge_ok:
                for part in parts(line.intersection(self.wet)):
                    if part.length < 260 or tags["highway"] == "footway":
                        self.roads.append((part, {**tags, "bridge": "yes", "layer": 1}))
        for geom, tags in self.roads:
            self.add(geom, **tags)

    # ---- buildings
    def buildings(self):
        rng = self.rng
        params = {  # spacing, width range, depth range, extra setback
            "old": (11, (8, 10.5), (10, 16), 1.5),
            "north": (24, (10, 14), (9, 12), 7),
            "east": (26, (12, 20), (12, 18), 5),
            "docks": (48, (25, 40), (18, 28), 4),
            "mill": (30, (9, 13), (8, 11), 6),
            None: (70, (9, 12), (8, 11), 8),
        }
        cands = []
        for line, tags in self.roads:
            hw = tags["highway"]
            if hw not in ("primary", "secondary", "tertiary", "residential") or tags.get("bridge"):
                continue
            if tags.get("name") in ("Ring Road", "North Road") and not line.intersects(self.districts["old"]):
                continue
            half = HALF_WIDTH[hw]
            for s in np.arange(8, line.length - 8, 6.0):
                p = line.interpolate(s)
                key = next((k for k, d in self.districts.items() if d.contains(p)), None)
                step, (w0, w1), (d0, d1), back = params[key]
                if (s // 6) % max(1, round(step / 6)) or (key is None and rng.random() < 0.6):
                    continue
                a, b = np.array(line.interpolate(s - 3).coords[0]), np.array(line.interpolate(s + 3).coords[0])
                t = (b - a) / (np.hypot(*(b - a)) or 1)
                n = np.array([-t[1], t[0]])
                rows = ((1, 0), (-1, 0), (1, 1), (-1, 1)) if key == "old" else ((1, 0), (-1, 0))
                for side, row in rows:
                    w, d = rng.uniform(w0, w1), rng.uniform(d0, d1)
                    off = half + back + rng.uniform(0, 1.5) + row * (d1 + 3)
                    c = np.array(p.coords[0]) + side * n * (off + d / 2)
                    tt = t + rng.normal(0, 0.02, 2)
                    nn = np.array([-tt[1], tt[0]])
                    corners = [c + sx * tt * w / 2 + sy * nn * d / 2 for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
                    cands.append(Polygon(corners))
        cands = np.array(cands, dtype=object)
        blockers = [g.buffer(HALF_WIDTH[t["highway"]] + 0.5) for g, t in self.roads] + self.obstacles
        blockers += [FRAME.exterior.buffer(5)]
        hit = set(shapely.STRtree(blockers).query(cands, predicate="intersects")[0].tolist())
        keep = [c for i, c in enumerate(cands) if i not in hit]
        tree = shapely.STRtree(keep)
        pairs = tree.query(keep, predicate="intersects")
        taken, clash = [], {}
        for a, b in zip(*pairs):
            if a != b:
                clash.setdefault(int(a), []).append(int(b))
        chosen = set()
        for i in range(len(keep)):
            if not any(j in chosen for j in clash.get(i, ())):
                chosen.add(i)
                taken.append(keep[i])
        for g in taken:
            self.add(shapely.set_precision(g, 0.01), building="yes")
        return len(taken)

    def landmarks(self):
        cx, cy = CENTRE
        church = shapely.union_all([box(cx + 60, cy + 60, cx + 98, cy + 74), box(cx + 72, cy + 50, cx + 80, cy + 84)])
        self.add(church, building="church", name="St Brendan's")
        self.add(Point(2150, 245).buffer(5), building="lighthouse")
        self.add(box(1990, 1350, 2060, 1372), building="train_station", name="Salthaven Station")
        pois = [
            ((2150, 245), {"man_made": "lighthouse", "tourism": "attraction", "name": "Salthaven Light"}),
            ((cx + 80, cy + 67), {"amenity": "place_of_worship", "religion": "christian", "name": "St Brendan's"}),
            ((cx, cy), {"amenity": "marketplace", "name": "Market Square"}),
            ((cx - 45, cy - 20), {"amenity": "townhall", "name": "Salthaven Town Hall"}),
            ((1480, 1030), {"tourism": "museum", "name": "Maritime Museum"}),
            ((1410, 980), {"amenity": "ferry_terminal", "name": "Ferry Quay"}),
            ((1250, 1095), {"amenity": "pub", "name": "The Net Loft"}),
            ((cx + 30, cy - 60), {"amenity": "cafe", "name": "Gull & Kettle"}),
            ((1600, 1070), {"tourism": "hotel", "name": "Anchor Hotel"}),
            ((930, 1700), {"amenity": "school", "name": "Northgate School"}),
            ((1330, 1400), {"amenity": "library", "name": "Town Library"}),
            ((2025, 1362), {"railway": "station", "public_transport": "station", "name": "Salthaven"}),
            ((2580, 2120), {"tourism": "viewpoint", "name": "Gull Hill"}),
            ((2585, 2125), {"natural": "peak", "name": "Gull Hill", "ele": "162"}),
            ((160, 2250), {"natural": "peak", "name": "Ravens Knoll", "ele": "104"}),
        ]
        for xy, tags in pois:
            self.add(Point(xy), **tags)
        places = [
            ((1420, 1330), "town", "Salthaven", {"population": "11800"}),
            ((1250, 1180), "suburb", "Old Town", {}),
        ]
        places += [((880, 1720), "suburb", "Northgate", {}), ((2380, 1160), "suburb", "Eastcliff", {})]
        places += [((1900, 930), "neighbourhood", "The Docks", {}), ((410, 1320), "neighbourhood", "Mill End", {})]
        places += [((1980, 1600), "neighbourhood", "Riverside", {}), ((2170, 480), "locality", "Lighthouse Point", {})]
        for xy, place, name, extra in places:
            self.add(Point(xy), place=place, name=name, **extra)

    def build(self):
        self.water()
        self.cover()
        self.harbour()
        self.rail()
        self.main_roads()
        self.old_town()
        self.grid(
            "north",
            (880, 1620),
            12,
            95,
            72,
            [
                "Alder Road",
                "Birch Road",
                "Cedar Road",
                "Elm Road",
                "Hazel Road",
                "Linden Road",
                "Maple Road",
                "Rowan Road",
            ],
            [
                "Orchard Street",
                "Victoria Street",
                "Albert Street",
                "Northgate",
                "Quarry Street",
                "Brook Street",
                "Fell Street",
            ],
        )
        self.grid(
            "east",
            (2350, 1150),
            -10,
            88,
            80,
            ["Foundry Street", "Sailmaker Street", "Pilot Street", "Brine Street", "Keel Road"],
            ["Dock Road", "Mast Street", "Gull Street", "Compass Row", "Tide Street", "Harpoon Lane"],
            main_every=3,
        )
        self.paths()
        self.finish_roads()
        self.landmarks()
        return self.buildings()

    # ---- output
    def geojson(self) -> dict:
        feats = []
        for geom, tags in self.features:
            g = shapely.transform(geom, to_lonlat)
            if isinstance(g, Polygon | MultiPolygon):
                g = shapely.make_valid(g)
            feats.append({"type": "Feature", "properties": tags, "geometry": mapping(g)})
        return {"type": "FeatureCollection", "name": "Salthaven (fictional)", "features": feats}

    # ---- the hike: routed along the town's own paths
    def route(self, stops):
        walk = [(g, 2.0 if t["highway"] == "primary" else 1.0) for g, t in self.roads if t["highway"] != "motorway"]
        tree = shapely.STRtree([g for g, _ in walk])
        graph: dict[tuple, list] = {}
        for seg in parts(shapely.node(shapely.MultiLineString([list(g.coords) for g, _ in walk]))):
            cost = walk[int(tree.query_nearest(seg.interpolate(0.5, normalized=True))[0])][1] * seg.length
            c = [tuple(np.round(p, 1)) for p in seg.coords]
            graph.setdefault(c[0], []).append((cost, c[-1], c))
            graph.setdefault(c[-1], []).append((cost, c[0], c[::-1]))
        nodes = np.array(list(graph))
        out = []
        for a, b in itertools.pairwise(stops):
            na = tuple(nodes[np.argmin(np.hypot(*(nodes - a).T))])
            nb = tuple(nodes[np.argmin(np.hypot(*(nodes - b).T))])
            dist, prev, heap = {na: 0.0}, {}, [(0.0, na)]
            while heap:
                d, u = heapq.heappop(heap)
                if u == nb:
                    break
                if d > dist.get(u, 1e18):
                    continue
                for ln, v, c in graph[u]:
                    if d + ln < dist.get(v, 1e18):
                        dist[v], prev[v] = d + ln, (u, c)
                        heapq.heappush(heap, (d + ln, v))
            path, u = [], nb
            while u != na and u in prev:
                u, c = prev[u]
                path = list(c) + path
            out += path or [na, nb]
        return np.array(out)


def hike_gpx(town: Town) -> str:
    rng = np.random.default_rng(7)
    legs = [
        [(2025, 1345), CENTRE, (1410, 860), (1400, 1020), (1800, 1032), (2150, 262)],
        [
            (2150, 262),
            (2240, 450),
            (2072, 662),
            (1920, 985),
            (1770, 1300),
            (2210, 1690),
            (2580, 2120),
            (2760, 1480),
            (2025, 1345),
        ],
    ]
    start = datetime(2024, 6, 15, 8, 40, 0, tzinfo=UTC)
    segs, t = [], start
    for k, stops in enumerate(legs):
        path = town.route(stops)
        line = LineString(path)
        s = np.arange(0, line.length, 7.0)
        pts = np.array([line.interpolate(v).coords[0] for v in s])
        noise = np.cumsum(rng.normal(0, 0.6, pts.shape), axis=0)
        noise -= np.convolve(noise[:, 0], np.ones(25) / 25, "same")[:, None] * [1, 0]
        pts = pts + np.clip(noise, -3, 3)
        ele = height(pts[:, 0], pts[:, 1]) + rng.normal(0, 0.4, len(pts))
        rows = []
        for i, (xy, e) in enumerate(zip(pts, ele)):
            if i:
                slope = (e - ele[i - 1]) / 7.0
                speed = 6 * math.exp(-3.5 * abs(slope + 0.05)) / 3.6  # Tobler's hiking function, m/s
                t += timedelta(seconds=7.0 / speed)
            lon, lat = to_lonlat([xy])[0]
            rows.append(
                f'      <trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{e:.1f}</ele>'
                f"<time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>"
            )
        segs.append("    <trkseg>\n" + "\n".join(rows) + "\n    </trkseg>")
        if k == 0:
            t += timedelta(minutes=52)  # lunch at the lighthouse, GPS off
    wpts = []
    for xy, name, sym in [
        ((2025, 1345), "Salthaven Station", "Train Station"),
        (CENTRE, "Market Square", "Shopping"),
        ((2150, 245), "Salthaven Light", "Lighthouse"),
        ((2580, 2120), "Gull Hill summit", "Summit"),
    ]:
        lon, lat = to_lonlat([xy])[0]
        e = float(height(np.array(xy[0]), np.array(xy[1])))
        wpts.append(
            f'  <wpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{e:.1f}</ele><name>{escape(name)}</name>'
            f"<sym>{escape(sym)}</sym></wpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="MapBrush demo data" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"  <metadata><name>Salthaven harbour hike</name><time>{start:%Y-%m-%dT%H:%M:%SZ}</time></metadata>\n"
        + "\n".join(wpts)
        + "\n  <trk>\n    <name>Harbour, lighthouse and Gull Hill</name>\n    <type>hiking</type>\n"
        + "\n".join(segs)
        + "\n  </trk>\n</gpx>\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "examples")
    ap.add_argument("--seed", type=int, default=1859)
    args = ap.parse_args(argv)
    town = Town(args.seed)
    n_buildings = town.build()
    args.out.mkdir(parents=True, exist_ok=True)
    gj = args.out / "harbour_town.geojson"
    gj.write_text(json.dumps(town.geojson(), separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    gpx = args.out / "harbour_hike.gpx"
    gpx.write_text(hike_gpx(town), encoding="utf-8")
    print(f"{gj}: {len(town.features)} features ({n_buildings} buildings), {gj.stat().st_size / 1e6:.2f} MB")
    print(f"{gpx}: {gpx.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
