"""Label placement with a cartographer's priorities, greedily, never overlapping each other, the furniture or
a track, never off the data, and within the style's density budget (Typography.label_budget/label_density).

The order: countries and regions on small-scale maps; places by rank and population (city > town > village >
suburb …); names of water, parks and other areas by size; rivers, then streets by class (major first, along the
line; one label per street first); notable points (museums, stations, peaks, the person's own waypoints; cafés
and shops only at street scale); last, repeats of street names, at least a third of the short side apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from app.carto.scene import Scene
from app.jobs.cancel import NEVER, CancelToken
from app.mapdata.model import Kind
from app.render.fonts import font_for_text, hex_color
from app.render.labelrank import ROAD_RANK, minor_pois_allowed, place_rank, poi_class, region_weight, short_names
from app.render.semantic import line_width
from app.render.textlayout import Box, BoxIndex, GlyphRun, along, along_distances, stacked, straight
from app.render.typography import Typography

PLACE_SCALE = {0: 2.0, 1: 1.65, 2: 1.35, 3: 1.2, 4: 1.05, 5: 1.0, 6: 0.95, 7: 1.0}
ROAD_SCALE = {-1: 1.0, 0: 1.1, 1: 1.05, 2: 1.0, 3: 0.97, 4: 0.92, 5: 0.85, 6: 0.85}
REGION_SCALE = (1.75, 1.45, 1.25, 1.08, 0.92, 0.8, 0.72)  # country names, biggest countries first
AREA_KINDS = (Kind.SEA, Kind.WATER, Kind.ADMIN, Kind.FOREST, Kind.PARK, Kind.OTHER)
WATER_KINDS = (Kind.SEA, Kind.WATER, Kind.WATERWAY)
MAX_CANDIDATES = 4000  # per map: bounds the time on huge inputs
MAX_ROAD_NAMES = 1500
MAX_AREA_LABELS = 300
STREET_SHARE = 0.8  # street names (first pass) leave a fifth of the budget to the points
INSIDE_DATA = 0.85  # the share of a label's boxes that must lie over the data's extent
INSIDE_AREA = 0.9  # … and of an area's name inside its area (a country's name: nearly inside)
INSIDE_REGION = 0.82
MIN_CONTRAST = 4.5  # text against its halo (WCAG); 3:1 is the least any label gets


@dataclass
class Label:
    text: str
    role: str  # "place" | "poi" | "area" | "road" | "water"
    run: GlyphRun
    xforms: np.ndarray  # (n_glyphs, 4): cos, sin, x, y per glyph
    boxes: list[Box]
    color: str
    marker: tuple[float, float] | None = None  # dot for POIs (and places on small-scale maps)


def luminance(color: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    c = np.array([(hex_color(color) >> s) & 255 for s in (16, 8, 0)], float) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_color(text: str, background: str, target: float = MIN_CONTRAST) -> str:
    """`text`, or the least change of it toward white or black that reads at `target` contrast on `background`."""
    if contrast_ratio(text, background) >= target:
        return text
    lb = luminance(background)
    end = 255 if 1.05 / (lb + 0.05) > (lb + 0.05) / 0.05 else 0
    rgb = np.array([(hex_color(text) >> s) & 255 for s in (16, 8, 0)], float)
    for t in np.linspace(0.05, 1.0, 20):
        out = "#" + "".join(f"{round(v):02x}" for v in rgb + (end - rgb) * t)
        if contrast_ratio(out, background) >= target:
            return out
    return out


def _meets(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(boxes: list[Box]) -> shapely.Geometry:
    return shapely.union_all(shapely.box(*np.asarray(boxes, float).T))


def _area(boxes: list[Box]) -> float:
    """The area the axis-aligned `boxes` cover together (overlaps counted once): what `_union(boxes).area` is,
    without building the polygon — a label's glyph boxes are cut into the cells between their edges, and the cells
    inside a box are counted. A label is tried at many places; the union polygon took most of the placing time."""
    b = np.asarray(boxes, float)
    if len(b) == 1:
        return float((b[0, 2] - b[0, 0]) * (b[0, 3] - b[0, 1]))
    xs, ys = np.unique(b[:, 0::2]), np.unique(b[:, 1::2])
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2  # a point inside each cell
    in_x = (b[:, 0, None] < cx) & (cx < b[:, 2, None])  # boxes x cell columns
    in_y = (b[:, 1, None] < cy) & (cy < b[:, 3, None])  # boxes x cell rows
    covered = (in_y.T.astype(np.uint8) @ in_x.astype(np.uint8)) > 0  # rows x columns: in some box
    return float(np.diff(ys) @ covered @ np.diff(xs))


class Placer:
    def __init__(self, scene: Scene, typo: Typography, reserved: list[Box], cancel: CancelToken = NEVER) -> None:
        self.scene, self.typo, self.cancel = scene, typo, cancel
        w, h = scene.size
        self.unit = min(w, h) / 1024.0
        self.halo = typo.halo_width * self.unit
        self.index = BoxIndex(cell=max(32.0, 48.0 * self.unit))
        for b in reserved:
            self.index.add(b)
        # Small reserved boxes are symbols on the map (a track's start/finish marker): a point under one is named
        # beside the symbol.
        self.symbols = [b for b in reserved if max(b[2] - b[0], b[3] - b[1]) <= 40.0 * self.unit]
        self.inside = (2.0, 2.0, w - 2.0, h - 2.0)
        self.labels: list[Label] = []
        self.tries = MAX_CANDIDATES
        # The density budget, counted on the picture's area: the same framing at more pixels (an export at print
        # size) places the same labels, scaled; a bigger page (more of the map) gets more of them.
        self.budget_px = max(0.0, typo.label_budget) * w * h
        self.used_px = 0.0
        self.max_labels = int(max(0.0, typo.label_density) * w * h / self.unit**2 / 1e6)
        self.title = (scene.title or "").strip().casefold()
        self.spacing = min(w, h) / 3.0  # the same name again only this far from where it already is
        self.named: dict[str, list[tuple[float, float]]] = {}
        mpp = scene.frame.meters_per_px
        self.small_scale = mpp * max(w, h) / 1024.0 > 25.0  # region / country maps (at a 1024-px long side)
        self.minor_pois = minor_pois_allowed(mpp, (w, h))
        self.label_color = readable_color(typo.label_color, typo.halo_color)
        self.water_color = readable_color(typo.water_color, typo.halo_color)
        self._track = self._track_tree()
        self._extent = self._data_extent()
        self._road_cache: dict[str, list] = {}
        self._centres: list[tuple[float, float]] = []

    # -- what a label may not cover -------------------------------------------------------------
    def _track_tree(self) -> shapely.STRtree | None:
        idx = self.scene.of_kind(Kind.TRACK)
        if not len(idx):
            return None
        lines = shapely.get_parts(self.scene.geometries[idx])
        lines = lines[np.isin(shapely.get_type_id(lines), [1, 2])]
        pieces = []
        for line in lines:  # short pieces, so that a box is tested against the track near it only
            c = shapely.get_coordinates(line)
            pieces += [shapely.LineString(c[i : i + 9]) for i in range(0, max(1, len(c) - 1), 8) if len(c[i:]) > 1]
        if not pieces:
            return None
        w, h = self.scene.size
        reach = line_width(Kind.TRACK, min(w, h)) / 2 + self.unit
        return shapely.STRtree(shapely.buffer(np.array(pieces, object), reach, quad_segs=2))

    def _data_extent(self) -> shapely.Geometry | None:
        ext = self.scene.extent
        w, h = self.scene.size
        if ext is None or ext.is_empty or ext.area < 0.02 * w * h:
            return None  # no declared window, or a tiny cluster shown with ground around it
        shapely.prepare(ext)
        return ext

    def _fits(self, boxes: list[Box], share: float = 1.0, anchor: tuple[float, float] | None = None) -> float | None:
        """The area the label would cover, when it fits: on the canvas, off everything placed, the furniture and
        the track, over the data (a point's name: the point inside the data's extent, the name beside it may
        reach past its edge), and within the density budget (`share` of it)."""
        x0, y0, x1, y1 = self.inside
        for b in boxes:
            if b[0] < x0 or b[1] < y0 or b[2] > x1 or b[3] > y1:
                return None
        if self.index.any_hits(boxes) or len(self.labels) >= self.max_labels:
            return None
        area = _area(boxes)
        if self.used_px + area > share * self.budget_px:
            return None
        if self._track is not None and self._track.query(shapely.box(*np.asarray(boxes, float).T),
                                                         predicate="intersects").size:  # fmt: skip
            return None
        ext = self._extent
        if ext is not None and anchor is not None:
            # on the edge counts as inside (a waypoint at a corner of the data's bounds)
            return area if shapely.dwithin(ext, shapely.Point(anchor), 2.0 * self.unit) else None
        if ext is not None:
            union = _union(boxes)
            if not ext.contains(union) and shapely.intersection(union, ext).area < INSIDE_DATA * area:
                return None
        return area

    def _take(self, label: Label, area: float, at: tuple[float, float]) -> None:
        for b in label.boxes:
            self.index.add(b)
        self.used_px += area
        self.labels.append(label)
        self._centres.append(at)
        self.named.setdefault(label.text.casefold(), []).append(at)

    def _wanted(self, text: str, x: float, y: float) -> bool:
        """Not the title again, and not a name already on the map near here."""
        key = text.strip().casefold()
        if not key or key == self.title:
            return False
        return all(np.hypot(x - px, y - py) >= self.spacing for px, py in self.named.get(key, ()))

    def _spend(self) -> bool:
        self.tries -= 1
        if self.tries % 200 == 0:
            self.cancel.check()
        full = self.used_px >= self.budget_px or len(self.labels) >= self.max_labels
        return self.tries >= 0 and not full

    def _run(self, text: str, font_name: str, size: float, spacing: float = 0.0) -> GlyphRun:
        return GlyphRun.make(text, font_for_text(font_name, size * self.unit, text), spacing)

    # -- places and points ------------------------------------------------------------------------
    def place_places(self) -> None:
        sc, t = self.scene, self.typo
        cands = []
        for i in sc.of_kind(Kind.PLACE):
            if sc.names[i]:
                rank, pop = place_rank(sc.props[i] if sc.props else {})
                cands.append((rank, pop, i))
        for rank, _, i in sorted(cands):
            if not self._spend():
                return
            g = sc.geometries[i]
            pt = g if g.geom_type == "Point" else shapely.point_on_surface(g)
            name = str(sc.names[i])
            if not self._wanted(name, pt.x, pt.y):
                continue
            suburb = rank >= 3
            text = name.upper() if suburb else name
            font = t.label_font if suburb else t.title_font
            run = self._run(text, font, t.label_size * PLACE_SCALE[min(rank, 7)], 0.14 if suburb else t.letter_spacing)
            self._point(run, text, "place", pt.x, pt.y, self.label_color, marker=self.small_scale and rank <= 2)

    def place_points(self) -> None:
        sc, t = self.scene, self.typo
        cands = []
        for i, (kind, name) in enumerate(zip(sc.kinds, sc.names)):
            if kind not in (Kind.POI, Kind.OTHER) or not name:
                continue
            g = sc.geometries[i]
            if kind is Kind.OTHER and g.geom_type not in ("Point", "MultiPoint"):
                continue  # a plain named point of a dataset is labelled like a POI; its areas and lines are not
            cls = poi_class(sc.props[i] if sc.props else {})
            if cls == 2 and not self.minor_pois:
                continue  # a café or a shop is no landmark on a map of a whole city
            cands.append((cls, i))
        for _, i in sorted(cands):
            if not self._spend():
                return
            g, name = sc.geometries[i], str(sc.names[i])
            pt = g if g.geom_type == "Point" else shapely.point_on_surface(g)
            if self._wanted(name, pt.x, pt.y):
                run = self._run(name, t.label_font, t.label_size * 0.95)
                self._point(run, name, "poi", pt.x, pt.y, self.label_color, marker=True)

    def _point(self, run, text, role, x, y, color, marker: bool) -> bool:
        r = 3.2 * self.unit
        gap = r + 3.0 * self.unit
        dot_at = (x, y) if marker else None
        for b in self.symbols:  # a waypoint under a start/finish marker: its name beside the marker, which is its dot
            if b[0] <= x <= b[2] and b[1] <= y <= b[3]:
                gap = max(gap, max(b[2] - x, x - b[0], b[3] - y, y - b[1]) + 2.0 * self.unit)
                dot_at = None
        h = run.cap
        if marker:
            spots = [
                (x + gap, y, "left"),
                (x - gap, y, "right"),
                (x, y - gap - h, "center"),
                (x, y + gap + h, "center"),
            ]
        else:
            spots = [(x, y, "center"), (x, y - h * 1.6, "center"), (x, y + h * 1.6, "center")]
        dot = (x - r - 1, y - r - 1, x + r + 1, y + r + 1)
        for sx, sy, align in spots:
            xf, box = straight(run, sx, sy, align, pad=self.halo)
            boxes = [box, dot] if marker else [box]
            # A point's dot may lie on the track and on its start/finish marker (a waypoint on the way, at the
            # trailhead, on the summit): the name keeps clear of them, the dot only of the names placed.
            area = self._fits([box], anchor=(x, y))
            if area is not None and marker and any(_meets(dot, b) for lab in self.labels for b in lab.boxes):
                area = None
            if area is not None and marker:  # the dot counts against the density budget too
                area = _area(boxes)
                area = area if self.used_px + area <= self.budget_px else None
            if area is not None:
                self._take(Label(text, role, run, xf, boxes, color, dot_at), area, (x, y))
                return True
        return False

    # -- areas ----------------------------------------------------------------------------------
    def place_areas(self, regions: bool) -> None:
        """Names of areas, the biggest first: with `regions`, countries and other admin areas only (small-scale
        maps name them before their cities); else water, parks, woods and other areas (admin ones too at city
        scale)."""
        sc = self.scene
        if regions and not self.small_scale:
            return
        kinds = (Kind.ADMIN,) if regions else tuple(k for k in AREA_KINDS if not (self.small_scale and k is Kind.ADMIN))
        idx = [i for i, (k, n) in enumerate(zip(sc.kinds, sc.names)) if k in kinds and n]
        idx = [i for i in idx if shapely.get_type_id(sc.geometries[i]) in (3, 6)]
        if not idx:
            return
        parts = [max(shapely.get_parts(sc.geometries[i]), key=lambda p: p.area) for i in idx]
        areas = shapely.area(np.array(parts, object))
        weight = [region_weight(a, sc.props[i] if sc.props else {}) for a, i in zip(areas, idx)] if regions else areas
        for j in np.argsort(-np.asarray(weight), kind="stable")[:MAX_AREA_LABELS]:
            if not self._spend():
                return
            self._area(idx[j], parts[j], regions)

    def _area(self, i: int, part, region: bool) -> None:
        sc, t = self.scene, self.typo
        kind, name = sc.kinds[i], str(sc.names[i])
        water = kind in WATER_KINDS
        big = kind in (Kind.SEA, Kind.ADMIN)
        w, h = sc.size
        share = part.area / (w * h)
        if region:
            first = next((k for k, s in enumerate((0.05, 0.02, 0.008, 0.003)) if share >= s), 4)
            sizes = [t.label_size * f for f in REGION_SCALE[first:]]
        else:
            sizes = [t.label_size * (1.35 if big else 1.05), t.label_size * (1.1 if big else 0.92)]
        if min(sizes) ** 2 * self.unit**2 * 3 > part.area:
            return
        variants = [name] + (short_names(sc.props[i] if sc.props else {}) if region else [])
        font = t.water_font if water else t.label_font
        spots = None
        for size in sizes:
            for text in variants:
                label_text = text.upper() if big else text
                spacing = (0.22 if size > t.label_size * 1.2 else 0.1 if size > t.label_size else 0.03) if big else 0.04
                run = self._run(label_text, font, size, spacing)
                for layout in self._layouts(label_text):
                    spots = spots if spots is not None else self._interior_points(part)
                    for x, y in spots:
                        if not self._wanted(label_text, x, y):
                            return
                        xf, boxes = layout(run, x, y)
                        inside = INSIDE_REGION if region else INSIDE_AREA
                        if self._inside_area(part, boxes, inside) and (area := self._fits(boxes)) is not None:
                            role, color = ("water", self.water_color) if water else ("area", self.label_color)
                            self._take(Label(label_text, role, run, xf, boxes, color), area,
                                       (x, y))  # fmt: skip
                            return

    def _layouts(self, text: str):
        one = lambda run, x, y: (lambda r: (r[0], [r[1]]))(straight(run, x, y, "center", pad=self.halo))  # noqa: E731
        out = [one]
        spaces = [k for k, c in enumerate(text) if c == " "]
        if spaces:  # two lines, broken at the space nearest the middle
            mid = min(spaces, key=lambda k: abs(k - len(text) / 2))
            out.append(lambda run, x, y: stacked(run, x, y, [mid], pad=self.halo))
        return out

    @staticmethod
    def _interior_points(part, n: int = 6) -> list[tuple[float, float]]:
        """Good places for an area's name: the centre of its largest inscribed circle, then the grid points
        farthest from its edge (room for a long name in a long country)."""
        centre = shapely.get_coordinates(shapely.maximum_inscribed_circle(part, 1.0))[0]
        x0, y0, x1, y1 = part.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, 14)[1:-1], np.linspace(y0, y1, 10)[1:-1])
        pts = shapely.points(gx.ravel(), gy.ravel())
        pts = pts[shapely.contains_xy(part, gx.ravel(), gy.ravel())]
        clear = shapely.distance(pts, part.boundary)
        best = [tuple(shapely.get_coordinates(p)[0]) for p in pts[np.argsort(-clear)[: n - 1]]]
        return [tuple(centre), *best]

    @staticmethod
    def _inside_area(part, boxes: list[Box], share: float) -> bool:
        union = _union(boxes)
        return shapely.contains(part, union) or shapely.intersection(part, union).area >= share * _area(boxes)

    # -- lines ----------------------------------------------------------------------------------
    def _road_groups(self) -> list[tuple[int, str, np.ndarray]]:
        """(rank, name, feature indices) of named rivers and streets, most important first (vectorised)."""
        sc = self.scene
        idx = np.array([i for i, (k, n) in enumerate(zip(sc.kinds, sc.names)) if n and k in ROAD_RANK], int)
        if idx.size == 0:
            return []
        idx = idx[np.isin(shapely.get_type_id(sc.geometries[idx]), [1, 5])]  # (multi)linestrings
        if idx.size == 0:
            return []
        names, inverse = np.unique(np.array([str(sc.names[i]) for i in idx]), return_inverse=True)
        length = np.bincount(inverse, weights=shapely.length(sc.geometries[idx]), minlength=len(names))
        ranks = np.full(len(names), 9)
        np.minimum.at(ranks, inverse, np.array([ROAD_RANK[sc.kinds[i]] for i in idx]))
        order = np.lexsort((-length, ranks))[:MAX_ROAD_NAMES]
        members = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[members], np.arange(len(names) + 1))
        return [(int(ranks[g]), str(names[g]), idx[members[starts[g] : starts[g + 1]]]) for g in order]

    def place_lines(self, repeats: bool = False) -> None:
        """One label per river and street (`repeats`=False), or more of them along long ones, spaced apart."""
        sc, t = self.scene, self.typo
        for rank, name, members in self._road_groups():
            if name.strip().casefold() == self.title:
                continue
            if repeats and len(self.named.get(name.casefold(), ())) != 1:
                continue
            water = any(sc.kinds[i] is Kind.WATERWAY for i in members)
            font = t.water_font if water else t.label_font
            # Street names are set tight: widely spaced letters let the road's colour through between them.
            spacing = 0.1 if water else min(t.letter_spacing, 0.06)
            run = self._run(name, font, t.label_size * ROAD_SCALE[rank], spacing)
            if name not in self._road_cache:
                lines = shapely.get_parts(sc.geometries[members])
                merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
                self._road_cache[name] = sorted(merged, key=lambda g: -g.length)[:4]
            for part in self._road_cache[name]:
                if part.length < run.width + 2 * run.font.getSize():
                    break
                if not self._spend():
                    return
                if self._on_line(run, name, part, water, 1.0 if repeats else STREET_SHARE, 3 if repeats else 1):
                    break

    def _on_line(self, run, name, part, water, share: float, upto: int) -> bool:
        """Place the name along `part` until the name is on the map `upto` times; True when it then is."""
        if self.used_px > share * self.budget_px:  # the names of lines have spent their share: none would fit
            return len(self.named.get(name.casefold(), ())) >= upto
        coords = shapely.get_coordinates(part)
        cum = along_distances(coords)
        width = run.width
        slack = part.length - width - run.font.getSize()
        starts = run.font.getSize() / 2 + np.array([0.5, 0.3, 0.7, 0.15, 0.85, 0.05, 0.95]) * slack
        centres = shapely.get_coordinates(shapely.line_interpolate_point(part, starts + width / 2))
        if self._centres:  # where the map has fewest names yet: no column of names down the middle of a grid
            placed = np.array(self._centres)
            far = np.hypot(*(centres[:, None, :] - placed[None, :, :]).transpose(2, 0, 1)).min(axis=1)
            order = np.argsort(-np.minimum(far, self.spacing / 2), kind="stable")
            starts, centres = starts[order], centres[order]
        for start, (x, y) in zip(starts, centres):
            if len(self.named.get(name.casefold(), ())) >= upto:
                return True
            if not self._wanted(name, x, y):
                continue
            laid = along(run, coords, start, pad=self.halo, cum=cum)
            if laid is None or (area := self._fits(laid[1], share)) is None:
                continue
            color = self.water_color if water else self.label_color
            self._take(Label(name, "water" if water else "road", run, laid[0], laid[1], color), area, (x, y))
        return len(self.named.get(name.casefold(), ())) >= upto


def place_labels(
    scene: Scene, typo: Typography, reserved: list[Box] = (), *, cancel: CancelToken = NEVER
) -> list[Label]:
    """Every label that fits, most important first (see the module's docstring for the order)."""
    placer = Placer(scene, typo, list(reserved), cancel)
    placer.place_areas(regions=True)
    placer.place_places()
    placer.place_areas(regions=False)
    placer.place_lines()
    placer.place_points()
    placer.place_lines(repeats=True)
    return placer.labels
