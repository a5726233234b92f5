"""OSM coastline ways → sea polygons inside the map's bounds.

OSM draws a coastline with the land on its LEFT and the sea on its RIGHT. An extract rarely holds whole coastlines:
extract tools (osmium extract, Geofabrik, Overpass) cut the ways at their box, so a shore ends just inside or just
outside it, comes as several ways that do not quite meet, and islands come as closed rings. Much as osmcoastline does
for the planet, we work in a frame where a unit is as long east-west as north-south, and
  1. turn round a way that runs against most of its shore (a common mapping error; said);
     merge the ways head to tail; join the end of one piece to the start of another when they are nearer each other
     than the box's edge (a wide gap is shore the file lacks: it is bridged straight, and said);
  2. take the closed rings that touch nothing else: counter-clockwise ones are islands, clockwise ones lagoons;
  3. carry every other end that stops inside the box on to its edge: along its heading when that edge is near, else
     straight to the nearest edge (never back over itself). Now every shore cuts the box in two;
  4. cut the box into faces along those shores, and let every shore segment vote, weighted by its length inside the
     box: just right of it is sea, just left is land. A face is sea (or land) when at least 3/4 of its votes say so;
  5. carve the islands out of the sea (and add the lagoons), outermost rings first.
What the data leaves unclear (a face whose shores disagree, a shore that stops far inside the map) is not guessed
silently: the caller gets a warning line for it.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, box

GAP = 0.01  # an end and a start closer than this share of the box size (and than the edge) are joined
BRIDGE = 0.25  # ... and up to this share, with a warning: the shore between them is missing
CUT_SLACK = 0.03  # an end this share of the box size from the edge is where an extract cut the way: no warning
KM = 111.32  # km in a degree of latitude
DECIDED = 0.75  # share of a face's votes that makes it sea or land


def coast_runs(points: list[tuple[float, float] | None]) -> list[LineString]:
    """The runs of known nodes of a coastline way that an extract cut (None where a node is missing from the file)."""
    runs, run = [], []
    for p in [*points, None]:
        if p is not None and (not run or p != run[-1]):
            run.append(p)
        elif p is None:
            if len(run) >= 2:
                runs.append(LineString(run))
            run = []
    return runs


def sea_polygons(
    coastlines: np.ndarray, bounds: tuple[float, float, float, float], *, warnings: list[str] | None = None
) -> shapely.Geometry | None:
    """The sea inside `bounds` as one (Multi)Polygon, or None when the coastlines decide nothing.

    What the data leaves unclear (shores that stop far inside the map, faces whose shores disagree about which side
    is land) is said in `warnings`, one line each, instead of being guessed.
    """
    notes = warnings if warnings is not None else []
    if not np.all(np.isfinite(bounds)) or box(*bounds).area <= 0:
        return None
    lines = _pieces(coastlines)
    if not len(lines) or not shapely.intersects(box(*bounds), shapely.multilinestrings(lines)):
        return None  # no shore on the map: it is all land or all sea, and nothing here says which
    # work where a unit is as long east-west as north-south, so distances and sides mean the same in both directions
    k = max(math.cos(math.radians((bounds[1] + bounds[3]) / 2)), 0.05)
    lines = shapely.transform(lines, lambda c: c * (k, 1.0))
    sea = _sea(lines, (bounds[0] * k, bounds[1], bounds[2] * k, bounds[3]), notes, k)
    if sea is None:
        return None
    sea = shapely.transform(sea, lambda c: c * (1.0 / k, 1.0))
    if not sea.is_valid:  # a face closed through a point the shore passes twice (or made so by rounding)
        parts = shapely.get_parts(shapely.make_valid(sea))
        sea = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    return None if sea.is_empty else sea


def _sea(lines: np.ndarray, bounds, notes: list[str], k: float) -> shapely.Geometry | None:
    frame = box(*bounds)
    size = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    lines, turned = _orient(lines, bounds, size * GAP)
    if turned:
        many = turned > 1
        notes.append(
            f"{turned} coastline way{'s' if many else ''} ran against the rest of {'their' if many else 'its'} shore "
            f"and {'were' if many else 'was'} turned round (OSM draws the land on a coastline's left)"
        )
    lines = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines), directed=True))
    lines, wide = _join_gaps(lines, bounds, size * GAP, size * BRIDGE)
    if wide:
        km, at = max((g.length * KM, g.coords[0]) for g in wide)
        notes.append(
            f"the coastline has {len(wide)} gap{'s' if len(wide) > 1 else ''} inside the map (the widest {km:.1f} km, "
            f"at {_lonlat(at, k)}); the shore is drawn straight across, so the sea near it may be off"
        )
    islands, lines = _islands(lines, frame)
    if len(lines) and shapely.intersects(frame, shapely.multilinestrings(lines)):
        sea, unclear = _sea_of_faces(lines, frame, bounds, notes, k)
    else:  # islands alone: the outermost say whether the water around them is sea
        sea, unclear = _around_islands(islands, frame)
    if unclear > 0:
        part = "" if sea is None else " in " + (f"{unclear:.0%}" if unclear >= 0.01 else "under 1%") + " of the map"
        notes.append(
            f"the coastline ways disagree about which side is land{part}; "
            + ("that part is not drawn as sea" if sea is not None else "drawing the coastline only")
        )
    if sea is None:
        return None
    sea = islands.carve(sea)
    return None if sea.is_empty else sea


class _Islands:
    """Closed shores wholly inside the box that touch no other: their orientation alone says where the land is
    (counter-clockwise: an island; clockwise: a lagoon), nested rings taken from the outside in."""

    def __init__(self, polys: np.ndarray, ccw: np.ndarray) -> None:
        self.polys, self.ccw = polys, ccw
        inner, outer = shapely.STRtree(polys).query(polys, predicate="within") if len(polys) else ([], [])
        inner = np.asarray(inner, int)[np.asarray(inner) != np.asarray(outer)]
        self.depth = np.bincount(inner, minlength=len(polys))

    def __len__(self) -> int:
        return len(self.polys)

    def outermost(self) -> tuple[np.ndarray, np.ndarray]:
        top = self.depth == 0
        return self.polys[top], self.ccw[top]

    def carve(self, sea):
        for d in range(int(self.depth.max()) + 1 if len(self) else 0):
            at = self.depth == d
            # the rings are disjoint, so a MultiPolygon of them is valid as it is: no union needed
            if np.any(at & self.ccw):
                sea = shapely.difference(sea, shapely.multipolygons(self.polys[at & self.ccw]))
            if np.any(at & ~self.ccw):
                sea = shapely.union(sea, shapely.multipolygons(self.polys[at & ~self.ccw]))
        return sea


def _islands(lines: np.ndarray, frame) -> tuple[_Islands, np.ndarray]:
    """Split the loose rings (see _Islands) from the shores that cut the box or each other."""
    shapely.prepare(frame)
    cand = np.flatnonzero(
        shapely.is_closed(lines) & (shapely.get_num_points(lines) >= 4) & shapely.contains_properly(frame, lines)
    )
    if len(cand):
        coords, idx = shapely.get_coordinates(lines[cand], return_index=True)
        rings = shapely.linearrings(coords, indices=idx)
        hit, _ = shapely.STRtree(lines).query(lines[cand], predicate="intersects")
        loose = (np.bincount(hit, minlength=len(cand)) == 1) & shapely.is_valid(shapely.polygons(rings))
        cand, rings = cand[loose], rings[loose]
    else:
        rings = np.empty(0, object)
    rest = np.ones(len(lines), bool)
    rest[cand] = False
    return _Islands(shapely.polygons(rings), shapely.is_ccw(rings)), lines[rest]


def _around_islands(islands: _Islands, frame) -> tuple[shapely.Geometry | None, float]:
    """The sea when the box holds islands only: the frame if the outermost rings are islands, else none."""
    polys, ccw = islands.outermost()
    length = shapely.length(polys)
    share = float(length[ccw].sum() / length.sum())
    if share >= DECIDED:
        return frame, 0.0
    if share <= 1 - DECIDED:
        return None, 0.0
    return None, 1.0


def _sea_of_faces(
    lines: np.ndarray, frame, bounds, notes: list[str], k: float
) -> tuple[shapely.Geometry | None, float]:
    """The sea of the faces the open shores cut the box into, and the share of the box left undecided."""
    extensions, deep = _extensions(lines, bounds)
    if deep:
        km, far = max((seg.length * KM, p) for seg, p in deep)
        many = len(deep) > 1
        notes.append(
            f"{len(deep)} coastline end{'s' if many else ''} stop{'' if many else 's'} well inside the map (the "
            f"farthest at {_lonlat(far, k)}, {km:.1f} km from the edge); the shore is drawn on to the edge from there, "
            "so the sea near it may be off"
        )
    shores = np.concatenate([lines, extensions]) if len(extensions) else lines
    faces = _faces(shores, frame)
    if not len(faces):
        return None, 0.0
    sea_w, land_w = _votes(shores, faces, bounds)
    total = sea_w + land_w
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, sea_w / total, 0.5)
    sea = faces[(total > 0) & (share >= DECIDED)]
    unclear = faces[(total > 0) & (share > 1 - DECIDED) & (share < DECIDED)]
    unclear_share = float(shapely.area(unclear).sum()) / frame.area if len(unclear) else 0.0
    return (shapely.union_all(sea) if len(sea) else None), unclear_share


def _pieces(coastlines: np.ndarray) -> np.ndarray:
    """The coastline ways as LineStrings, repeated nodes and one-node ways dropped."""
    coastlines = np.asarray(coastlines, dtype=object)
    coastlines = coastlines[~shapely.is_missing(coastlines)]
    parts = shapely.get_parts(coastlines[~shapely.is_empty(coastlines)])
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings (a way's geometry is never anything else)
    parts = shapely.remove_repeated_points(parts)
    return parts[shapely.length(parts) > 0]


def _orient(parts: np.ndarray, bounds, tol: float) -> tuple[np.ndarray, int]:
    """Turn round the ways that run against most (by length) of the shore they belong to.

    A way drawn the wrong way round is a common coastline error: it meets its neighbours end to end (or start to
    start) instead of end to start, and alone it would paint its stretch of sea as land. Ways meet where they share a
    node, or where their ends lie within `tol` of each other and nearer than the box's edge (the gaps _join_gaps
    closes). Each run of ways that meet two by two is a shore; it is made to run the way most of its length runs.
    """
    n = len(parts)
    if n < 2:
        return parts, 0
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(parts, i)) for i in (0, -1)])
    cluster = _clusters(ends, bounds, tol)
    start, stop = cluster[:n], cluster[n:]
    touching: dict[int, list[int]] = {}
    for i in range(n):
        touching.setdefault(start[i], []).append(i)
        touching.setdefault(stop[i], []).append(i)
    length = shapely.length(parts)
    seen = start == stop  # rings (and ways whose ends meet) have no neighbours to agree with
    turn = np.zeros(n, bool)
    for i0 in range(n):
        if seen[i0]:
            continue
        seen[i0] = True
        run = {i0: True}  # way → does it run along the walk?
        for forward in (True, False):  # walk on from its end, then back from its start
            i, c = i0, stop[i0] if forward else start[i0]
            while len(touching[c]) == 2:
                j = touching[c][0] if touching[c][1] == i else touching[c][1]
                if seen[j]:
                    break
                seen[j] = True
                along = start[j] == c if forward else stop[j] == c
                run[j] = along
                i, c = j, (stop[j] if along else start[j]) if forward else (start[j] if along else stop[j])
        ways = np.fromiter(run, int)
        along = np.fromiter(run.values(), bool)
        with_, against = length[ways[along]].sum(), length[ways[~along]].sum()
        if against < with_:
            turn[ways[~along]] = True
        elif with_ < against:
            turn[ways[along]] = True
    if not turn.any():
        return parts, 0
    parts = parts.copy()
    parts[turn] = shapely.reverse(parts[turn])
    return parts, int(turn.sum())


def _clusters(points: np.ndarray, bounds, tol: float) -> np.ndarray:
    """A cluster id per point: points that coincide, or lie within `tol` and nearer each other than the edge."""
    parent = np.arange(len(points))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    a, b = shapely.STRtree(shapely.points(points)).query(shapely.points(points), predicate="dwithin", distance=tol)
    keep = a < b
    a, b = a[keep], b[keep]
    gap = np.hypot(*(points[a] - points[b]).T)
    room = np.minimum(_edge_distance(points[a], bounds), _edge_distance(points[b], bounds))
    for i, j in zip(a[(gap == 0) | (gap < room)], b[(gap == 0) | (gap < room)]):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([root(i) for i in range(len(points))])


def _edge_distance(points: np.ndarray, bounds) -> np.ndarray:
    """How far each point is inside the box (0 on or outside its edge)."""
    x, y = points[:, 0], points[:, 1]
    d = np.minimum.reduce([x - bounds[0], bounds[2] - x, y - bounds[1], bounds[3] - y])
    return np.maximum(d, 0.0)


def _ends(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end coordinates of every line, and which lines are open."""
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    is_open = ~np.all(first == last, axis=1)
    return first, last, is_open


def _join_gaps(lines: np.ndarray, bounds, tol: float, reach: float) -> tuple[np.ndarray, list[LineString]]:
    """Join an end to a start that is nearer to it than either is to the box's edge, nearest pairs first.

    Gaps up to `tol` are the slips of mappers and tools; wider ones, up to `reach`, are shore the data lacks (a way
    missing from the extract): they are bridged straight, if that crosses no other shore, and returned to be told.
    """
    first, last, is_open = _ends(lines)
    idx = np.flatnonzero(is_open)
    if not len(idx) or reach <= 0:
        return lines, []
    a, b = shapely.STRtree(shapely.points(first[idx])).query(
        shapely.points(last[idx]), predicate="dwithin", distance=reach
    )
    if not len(a):
        return lines, []
    ends_at, starts_at = last[idx][a], first[idx][b]
    gap = np.hypot(*(ends_at - starts_at).T)
    room = np.minimum(_edge_distance(ends_at, bounds), _edge_distance(starts_at, bounds))
    short_ring = (a == b) & (shapely.get_num_points(lines[idx][a]) < 4)
    keep = (gap < room) & ~short_ring
    tree = shapely.STRtree(lines)
    used_end, used_start, links, wide = set(), set(), [], []
    for j in np.flatnonzero(keep)[np.argsort(gap[keep], kind="stable")]:
        if a[j] in used_end or b[j] in used_start:
            continue
        link = LineString([ends_at[j], starts_at[j]]) if gap[j] > 0 else None
        if gap[j] > tol and len(tree.query(link, predicate="crosses")):
            continue
        used_end.add(a[j])
        used_start.add(b[j])
        if link is not None:
            links.append(link)
            if gap[j] > tol:
                wide.append(link)
    if not used_end:
        return lines, []
    merged = shapely.line_merge(shapely.multilinestrings([*lines, *links]), directed=True)
    return shapely.get_parts(merged), wide


def _direction(line: LineString, at_end: bool, reach: float) -> np.ndarray:
    """The way's heading over its last (or first) `reach` of length, pointing out of the line."""
    length = line.length
    if at_end:
        tip, back = line.interpolate(length), line.interpolate(max(length - reach, 0.0))
    else:
        tip, back = line.interpolate(0.0), line.interpolate(min(reach, length))
    return np.array([tip.x - back.x, tip.y - back.y])


def _to_edge(p: np.ndarray, d: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    """Where a ray from p along d leaves the box, and the nearest point of the box's edge."""
    x0, y0, x1, y1 = bounds
    ts = []
    for i, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
        if d[i] > 0:
            ts.append((hi - p[i]) / d[i])
        elif d[i] < 0:
            ts.append((lo - p[i]) / d[i])
    ray = p + min(ts) * d if ts else None
    gaps = [p[0] - x0, x1 - p[0], p[1] - y0, y1 - p[1]]
    side = int(np.argmin(gaps))
    near = p.copy()
    near[side // 2] = (x0, x1, y0, y1)[side]
    if ray is not None:  # no float drift off the edge
        ray = np.clip(ray, (x0, y0), (x1, y1))
    return ray, near


def _extensions(lines: np.ndarray, bounds) -> tuple[np.ndarray, list]:
    """Segments that carry each open end inside the box on to its edge, and the ends that stopped far inside."""
    first, last, is_open = _ends(lines)
    size = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    tree = shapely.STRtree(lines)
    out, deep = [], []
    for i in np.flatnonzero(is_open):
        for at_end, p in ((False, first[i]), (True, last[i])):
            inside = _edge_distance(p[None], bounds)[0]
            if inside <= 0:
                continue
            line = lines[i]
            heading = _direction(line, at_end, size * 0.005)
            ray, near = _to_edge(p, heading, bounds)
            options = []
            if ray is not None and np.hypot(*(ray - p)) <= 2 * inside + size * 0.002:
                options.append(ray)  # the way heads for a near edge: follow it there
            if np.dot(near - p, heading) >= -0.5 * np.hypot(*(near - p)) * np.hypot(*heading):
                options.append(near)  # else the nearest edge lies behind it: going there would double back
            if ray is not None and not options:
                options.append(ray)
            options = options or [near]
            segs = [LineString([p, q] if at_end else [q, p]) for q in options]
            clear = [s for s in segs if not len(tree.query(s, predicate="crosses"))]
            out.append((clear or segs)[0])
            if out[-1].length > max(size * CUT_SLACK, 2 * _last_segment(line, at_end)):
                deep.append((out[-1], tuple(p)))  # more shore made up than an extract tool's cut explains
    return np.array(out, dtype=object), deep


def _last_segment(line: LineString, at_end: bool) -> float:
    c = np.asarray(line.coords)
    a, b = (c[-2], c[-1]) if at_end else (c[0], c[1])
    return float(np.hypot(*(b - a)))


def _faces(shores: np.ndarray, frame) -> np.ndarray:
    inside = shapely.intersection(shores, frame)
    inside = inside[~shapely.is_empty(inside)]
    noded = shapely.union_all([frame.boundary, *inside])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 0]


def _clip_segments(a: np.ndarray, b: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Liang–Barsky: each segment a→b cut to the box, direction kept; and which segments touch the box at all."""
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    ok = np.ones(len(a), bool)
    for p, q in (
        (-d[:, 0], a[:, 0] - bounds[0]),
        (d[:, 0], bounds[2] - a[:, 0]),
        (-d[:, 1], a[:, 1] - bounds[1]),
        (d[:, 1], bounds[3] - a[:, 1]),
    ):
        parallel = p == 0
        ok &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
        t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    ok &= t0 < t1
    return a + d * t0[:, None], a + d * t1[:, None], ok


def _votes(shores: np.ndarray, faces: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    """Length-weighted votes per face: how much shore has the face on its right (sea) and on its left (land)."""
    coords, idx = shapely.get_coordinates(shores, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b, ok = _clip_segments(coords[:-1][same], coords[1:][same], bounds)
    a, b = a[ok], b[ok]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    a, d, length = a[keep], d[keep], length[keep]
    size = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    mid = a + d / 2
    eps = np.minimum(length * 0.25, size * 1e-5)[:, None]
    right = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]
    pts = np.concatenate([mid + right * eps, mid - right * eps])
    weight = np.concatenate([length, -length])  # + sea, - land
    order = np.argsort(pts[:, 0], kind="stable")
    pts, weight, xs = pts[order], weight[order], pts[order, 0]
    shapely.prepare(faces)
    sea_w, land_w = np.zeros(len(faces)), np.zeros(len(faces))
    for f, (x0, y0, x1, y1) in enumerate(shapely.bounds(faces)):
        cand = np.arange(np.searchsorted(xs, x0, side="left"), np.searchsorted(xs, x1, side="right"))
        cand = cand[(pts[cand, 1] >= y0) & (pts[cand, 1] <= y1)]
        w = weight[cand[shapely.contains_xy(faces[f], pts[cand, 0], pts[cand, 1])]]
        sea_w[f], land_w[f] = w[w > 0].sum(), -w[w < 0].sum()
    return sea_w, land_w


def _lonlat(p, k: float) -> str:
    lon, lat = float(p[0]) / k, float(p[1])
    return f"{abs(lat):.4f}° {'N' if lat >= 0 else 'S'} {abs(lon):.4f}° {'E' if lon >= 0 else 'W'}"
