"""Generate a large synthetic city as GeoJSON, for benchmarks.

Districts of rotated street grids spiral out from the centre; every block holds a ring of
buildings (or a park); two rivers and a motorway cross the city. Tags are OSM-style.
Deterministic for a given seed and size; no network; 100,000 features in a few seconds.

    python scripts/make_large_city.py OUT.geojson [--features 100000] [--streets N] [--seed 7]

--streets N stops once the city has N street features (e.g. 3000 for the "3,000-street city");
otherwise the file holds exactly --features features.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np

LON0, LAT0 = 11.0, 60.0
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
CELL = 1000.0  # district pitch in metres
HALF = 720.0  # half the side of a district's street grid, before clipping to its cell
SYLLABLES = ["ash", "bel", "brook", "car", "dal", "el", "fen", "gar", "hol", "ing", "kel", "lin", "mar", "nor"]
SYLLABLES += ["oak", "pen", "quar", "ros", "sel", "tor", "ul", "ven", "wick", "yar", "stow", "by", "ham", "ley"]
STREET_WORDS = ["Street", "Road", "Lane", "Avenue", "Row", "Way", "Place", "Terrace"]


class Rivers:
    """Two meandering rivers: one runs west-east, one south-north."""

    def __init__(self, extent: float, rng: np.random.Generator) -> None:
        self.extent = extent
        self.a = rng.uniform(0.6, 1.0, 3) * [260, 120, 50]
        self.k = rng.uniform(0.8, 1.2, 3) * [1 / 1900, 1 / 700, 1 / 260]
        self.ph = rng.uniform(0, 2 * math.pi, 6)
        self.off = rng.uniform(-0.3, 0.3, 2) * CELL
        self.half = (30.0, 20.0)

    def _wave(self, t, which):
        ph = self.ph[3 * which : 3 * which + 3]
        return self.off[which] + sum(a * np.sin(k * t + p) for a, k, p in zip(self.a, self.k, ph))

    def distance(self, x, y):
        """Rough distance to the nearer river bank (negative inside the water)."""
        d0 = np.abs(y - self._wave(x, 0)) - self.half[0]
        d1 = np.abs(x - self._wave(y, 1)) - self.half[1]
        return np.minimum(d0, d1)

    def crosses(self, x0, y0, x1, y1) -> bool:
        """Whether the segment's ends lie on different sides of a river."""

        def side(x, y):
            w0 = self.off[0] + sum(a * math.sin(k * x + p) for a, k, p in zip(self.a, self.k, self.ph[:3]))
            w1 = self.off[1] + sum(a * math.sin(k * y + p) for a, k, p in zip(self.a, self.k, self.ph[3:]))
            return y > w0, x > w1

        return side(x0, y0) != side(x1, y1)

    def along(self, x0, y0, x1, y1) -> bool:
        """Whether a segment crossing a river runs nearly along it (no bridge is built there)."""
        d = np.array([x1 - x0, y1 - y0]) / (math.hypot(x1 - x0, y1 - y0) or 1)
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        slope0 = (self._wave(xm + 1, 0) - self._wave(xm - 1, 0)) / 2
        slope1 = (self._wave(ym + 1, 1) - self._wave(ym - 1, 1)) / 2
        near0 = abs(ym - self._wave(xm, 0)) < abs(xm - self._wave(ym, 1))
        t = np.array([1, slope0]) if near0 else np.array([slope1, 1])
        return abs(float(d @ t)) / math.hypot(*t) > math.cos(math.radians(40))

    def features(self):
        t = np.linspace(-self.extent, self.extent, max(200, int(self.extent / 15)))
        out = []
        for which, name in ((0, "River Wend"), (1, "Greywater")):
            w = self._wave(t, which)
            line = np.c_[t, w] if which == 0 else np.c_[w, t]
            tang = np.gradient(line, axis=0)
            tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
            nrm = np.c_[-tang[:, 1], tang[:, 0]] * self.half[which]
            ring = np.vstack([line + nrm, (line - nrm)[::-1], line[:1] + nrm[:1]])
            out.append(("Polygon", [ring], {"natural": "water", "water": "river", "name": name}))
            out.append(("LineString", line, {"waterway": "river", "name": name}))
        return out


def spiral(n):
    """Lattice cells (i, j) ordered by distance from the centre."""
    r = math.ceil(math.sqrt(n)) + 4
    cells = [(i, j) for i in range(-r, r + 1) for j in range(-r, r + 1)]
    cells.sort(key=lambda c: (c[0] ** 2 + c[1] ** 2, math.atan2(c[1], c[0])))
    return cells


def district_name(rng):
    a, b = rng.choice(SYLLABLES, 2, replace=False)
    return (a + b).capitalize()


def clip_interval(p0, p1, lo, hi):
    """Liang-Barsky: the part [ta, tb] of segment p0 -> p1 (t in 0..1) inside the box lo..hi, or None."""
    ta, tb = 0.0, 1.0
    for d, q0, q1 in ((p1[0] - p0[0], p0[0] - lo[0], hi[0] - p0[0]), (p1[1] - p0[1], p0[1] - lo[1], hi[1] - p0[1])):
        for pp, qq in ((-d, q0), (d, q1)):
            if pp == 0:
                if qq < 0:
                    return None
            elif pp < 0:
                ta = max(ta, qq / pp)
            else:
                tb = min(tb, qq / pp)
    return (ta, tb) if ta < tb else None


def street_ways(point, knots, rivers, tags, bridge_len=45.0):
    """Split one clipped grid line (knots: parameters of its crossings) into ways of ~3 blocks and bridges."""
    crossings = []
    for t0, t1 in itertools.pairwise(knots):
        if rivers.crosses(*point(t0), *point(t1)):
            for _ in range(24):  # bisect to the channel
                tm = (t0 + t1) / 2
                if rivers.crosses(*point(t0), *point(tm)):
                    t1 = tm
                else:
                    t0 = tm
            crossings.append(((t0 + t1) / 2, rivers.along(*point(t0), *point(t1))))
    runs, start = [], knots[0]
    for tc, along in crossings:
        a, b = max(tc - bridge_len, start), min(tc + bridge_len, knots[-1])
        if a > start:
            runs.append((start, a, False))
        if not along:
            runs.append((a, b, True))
        start = b
    if start < knots[-1]:
        runs.append((start, knots[-1], False))
    out = []
    for a, b, bridge in runs:
        inner = [t for t in knots if a < t < b]
        cuts = [a, *inner[2::3], b] if not bridge else [a, b]
        for c0, c1 in itertools.pairwise(cuts):
            ts = [c0, *(t for t in inner if c0 < t < c1), c1]
            if c1 - c0 > bridge_len / 9:
                extra = {"bridge": "yes", "layer": 1} if bridge else {}
                out.append(("LineString", [point(t) for t in ts], {**tags, **extra}))
    return out


def make_district(ci, cj, rng, rivers, motorway, out):
    """Append one district's features to `out`; return the number of street features added."""
    ox, oy = ci * CELL, cj * CELL
    cx, cy = ox + rng.uniform(-60, 60), oy + rng.uniform(-60, 60)
    ang = math.radians(rng.uniform(-35, 35))
    c, s = math.cos(ang), math.sin(ang)
    su, sv = rng.uniform(75, 130), rng.uniform(60, 105)
    name = district_name(rng)
    ku = np.arange(-HALF, HALF + 1e-6, su)
    kv = np.arange(-HALF, HALF + 1e-6, sv)
    lo, hi = (ox - CELL / 2 + 30, oy - CELL / 2 + 30), (ox + CELL / 2 - 30, oy + CELL / 2 - 30)

    def world(u, v):
        return cx + c * u - s * v, cy + s * u + c * v

    streets = 0
    words = rng.permutation(STREET_WORDS)
    for axis, ks, cross in ((0, ku, kv), (1, kv, ku)):
        for n, k in enumerate(ks):

            def point(t, k=k, axis=axis):
                return world(k, t) if axis == 0 else world(t, k)

            span = clip_interval(point(cross[0]), point(cross[-1]), lo, hi)
            if span is None:
                continue
            ta, tb = (cross[0] + f * (cross[-1] - cross[0]) for f in span)
            knots = [ta, *(t for t in cross if ta < t < tb), tb]
            hw = "tertiary" if n % 4 == 0 else "residential"
            tags = {"highway": hw, "name": f"{district_name(rng)} {words[(n + axis) % len(words)]}"}
            ways = street_ways(point, knots, rivers, tags)
            out += ways
            streets += len(ways)
    out.append(("Point", world(0, 0), {"place": "suburb", "name": name}))
    # blocks
    margin = 9.0
    for i in range(len(ku) - 1):
        for j in range(len(kv) - 1):
            u0, u1, v0, v1 = ku[i] + margin, ku[i + 1] - margin, kv[j] + margin, kv[j + 1] - margin
            corners = np.array([world(u0, v0), world(u1, v0), world(u1, v1), world(u0, v1)])
            if np.any(corners < lo) or np.any(corners > hi):
                continue
            bx, by = corners.mean(axis=0)
            if rivers.distance(bx, by) < max(u1 - u0, v1 - v0) / 2 + 15 or abs(by - motorway(bx)) < 80:
                continue
            roll = rng.random()
            if roll < 0.06:
                ring = [world(u0, v0), world(u1, v0), world(u1, v1), world(u0, v1), world(u0, v0)]
                out.append(("Polygon", [ring], {"leisure": "park", "name": f"{name} Park"}))
                continue
            if roll < 0.08:
                ring = [world(u0, v0), world(u1, v0), world(u1, v1), world(u0, v1), world(u0, v0)]
                out.append(("Polygon", [ring], {"landuse": "forest"}))
                continue
            depth = min(rng.uniform(9, 15), (v1 - v0) / 2 - 1)
            for v_edge, sign in ((v0, 1), (v1, -1)):  # long rows facing the two streets
                u = u0
                while True:
                    w = rng.uniform(8, 18)
                    if u + w > u1:
                        break
                    d = depth * rng.uniform(0.75, 1.0)
                    va, vb = v_edge, v_edge + sign * d
                    ring = [world(u, va), world(u + w, va), world(u + w, vb), world(u, vb), world(u, va)]
                    out.append(("Polygon", [ring], {"building": "yes"}))
                    u += w + rng.uniform(1, 5)
    return streets


def to_lonlat(xy):
    xy = np.asarray(xy, float)
    return np.c_[LON0 + xy[..., 0] / M_PER_DEG_LON, LAT0 + xy[..., 1] / M_PER_DEG_LAT]


def coords_json(kind, geom):
    if kind == "Point":
        lon, lat = to_lonlat([geom])[0]
        return f"[{lon:.6f},{lat:.6f}]"
    rings = geom if kind == "Polygon" else [geom]
    out = []
    for ring in rings:
        ll = to_lonlat(ring)
        out.append("[" + ",".join(f"[{x:.6f},{y:.6f}]" for x, y in ll) + "]")
    return "[" + ",".join(out) + "]" if kind == "Polygon" else out[0]


def generate(n_features: int, n_streets: int | None, seed: int):
    rng = np.random.default_rng(seed)
    per_district = 820 if n_streets is None else 60  # rough: features or streets per district
    want = (n_streets or n_features) / per_district
    extent = (math.sqrt(max(want, 1)) / 2 + 1.5) * CELL
    rivers = Rivers(extent, rng)
    feats = rivers.features()

    def motorway(x):
        return 0.62 * extent + 90 * np.sin(x / 900)

    xs = np.linspace(-extent, extent, 60)
    feats.append(("LineString", np.c_[xs, motorway(xs)], {"highway": "motorway", "name": "City Motorway"}))
    feats.append(("Point", (0.0, 0.0), {"place": "city", "name": "Greyport"}))
    body, streets, used = [], 0, []
    for ci, cj in spiral(want):
        streets += make_district(ci, cj, rng, rivers, motorway, body)
        used.append((ci, cj))
        if streets >= (n_streets or math.inf) or len(feats) + len(body) >= n_features + 400:
            break
    feats += arterials(used, rivers)
    feats += body
    if n_streets is None:
        del feats[n_features:]
    return feats, streets


def arterials(cells, rivers):
    """Primary roads along the gaps between districts, spanning the built area."""
    ii, jj = [c[0] for c in cells], [c[1] for c in cells]
    out = []
    for axis, lo, hi, a0, a1 in ((0, min(ii), max(ii), min(jj), max(jj)), (1, min(jj), max(jj), min(ii), max(ii))):
        t = np.linspace((a0 - 0.5) * CELL, (a1 + 0.5) * CELL, 4 * (a1 - a0 + 1) + 1)
        for k in range(lo, hi):
            w = (k + 0.5) * CELL + 25 * np.sin(t / 700 + k)
            line = np.c_[w, t] if axis == 0 else np.c_[t, w]
            name = f"{k + 100} Boulevard" if axis else f"{k + 100} Avenue"
            knots = list(range(0, len(line), 4))
            out += street_ways(
                lambda i, line=line: tuple(np.interp(i, np.arange(len(line)), c) for c in line.T),
                knots,
                rivers,
                {"highway": "primary", "name": name},
                bridge_len=45 / (CELL / 4),
            )
    return out


def write(path: Path, feats) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","name":"Greyport (synthetic)","features":[\n')
        for i, (kind, geom, tags) in enumerate(feats):
            sep = ",\n" if i else ""
            props = json.dumps(tags, separators=(",", ":"))
            f.write(f'{sep}{{"type":"Feature","properties":{props},')
            f.write(f'"geometry":{{"type":"{kind}","coordinates":{coords_json(kind, geom)}}}}}')
        f.write("\n]}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--features", type=int, default=100_000)
    ap.add_argument("--streets", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    feats, streets = generate(args.features, args.streets, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, feats)
    size = args.out.stat().st_size / 1e6
    took = time.perf_counter() - t0
    print(f"{args.out}: {len(feats)} features, {streets} streets, {size:.1f} MB in {took:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
