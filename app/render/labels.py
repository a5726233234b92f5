"""Label placement: place names, waypoint/POI names, names of large areas, and street names along
their streets — greedily by importance, never overlapping each other or reserved boxes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from app.carto.scene import Scene
from app.jobs.cancel import NEVER, CancelToken
from app.mapdata.model import Kind
from app.render.fonts import font_for_text
from app.render.textlayout import Box, BoxIndex, GlyphRun, along, straight
from app.render.typography import Typography

PLACE_RANK = {"city": 0, "town": 1, "village": 2, "suburb": 3, "borough": 3, "quarter": 4, "hamlet": 4}
PLACE_SCALE = {0: 2.0, 1: 1.65, 2: 1.35, 3: 1.2, 4: 1.05, 5: 1.0}
ROAD_RANK = {Kind.MOTORWAY: 0, Kind.PRIMARY: 1, Kind.SECONDARY: 2, Kind.TERTIARY: 3, Kind.RESIDENTIAL: 4}
ROAD_RANK.update({Kind.SERVICE: 5, Kind.PATH: 6, Kind.WATERWAY: 2})
ROAD_SCALE = {0: 1.1, 1: 1.05, 2: 1.0, 3: 0.97, 4: 0.92, 5: 0.85, 6: 0.85}
AREA_KINDS = (Kind.SEA, Kind.WATER, Kind.ADMIN, Kind.FOREST, Kind.PARK, Kind.OTHER)
WATER_KINDS = (Kind.SEA, Kind.WATER, Kind.WATERWAY)
MAX_CANDIDATES = 4000  # per map: bounds the time on huge inputs
MAX_ROAD_NAMES = 1500
MAX_AREA_LABELS = 80


@dataclass
class Label:
    text: str
    role: str  # "place" | "poi" | "area" | "road" | "water"
    run: GlyphRun
    xforms: np.ndarray  # (n_glyphs, 4): cos, sin, x, y per glyph
    boxes: list[Box]
    color: str
    marker: tuple[float, float] | None = None  # dot for POIs (and places on small-scale maps)


class Placer:
    def __init__(self, scene: Scene, typo: Typography, reserved: list[Box], cancel: CancelToken = NEVER) -> None:
        self.scene, self.typo, self.cancel = scene, typo, cancel
        w, h = scene.size
        self.unit = min(w, h) / 1024.0
        self.halo = typo.halo_width * self.unit
        self.index = BoxIndex(cell=max(32.0, 48.0 * self.unit))
        for b in reserved:
            self.index.add(b)
        self.inside = (2.0, 2.0, w - 2.0, h - 2.0)
        self.labels: list[Label] = []
        self.budget = MAX_CANDIDATES
        # Counted on the picture brought to a 1024-px long side: the same framing at more pixels (an export at
        # print size) places the same labels as the preview, each scaled with the resolution.
        self.max_labels = int(220 * (w * h) / max(w, h) ** 2) + 40

    def _fits(self, boxes: list[Box]) -> bool:
        x0, y0, x1, y1 = self.inside
        for b in boxes:
            if b[0] < x0 or b[1] < y0 or b[2] > x1 or b[3] > y1:
                return False
        return not self.index.any_hits(boxes)

    def _take(self, label: Label) -> None:
        for b in label.boxes:
            self.index.add(b)
        self.labels.append(label)

    def _spend(self) -> bool:
        self.budget -= 1
        if self.budget % 200 == 0:
            self.cancel.check()
        return self.budget >= 0 and len(self.labels) < self.max_labels

    def _run(self, text: str, font_name: str, size: float, spacing: float = 0.0) -> GlyphRun:
        return GlyphRun.make(text, font_for_text(font_name, size * self.unit, text), spacing)

    # -- points ---------------------------------------------------------------------------------
    def place_points(self) -> None:
        sc, t = self.scene, self.typo
        cands = []
        for i, (kind, name) in enumerate(zip(sc.kinds, sc.names)):
            if kind not in (Kind.PLACE, Kind.POI, Kind.OTHER) or not name:
                continue
            g = sc.geometries[i]
            if kind is Kind.OTHER and g.geom_type not in ("Point", "MultiPoint"):
                continue  # a plain named point of a dataset is labelled like a POI; its areas and lines are not
            pt = g if g.geom_type == "Point" else shapely.point_on_surface(g)
            if kind is Kind.PLACE:
                rank = PLACE_RANK.get(str(sc.props[i].get("place", "")), 5) if sc.props else 5
                cands.append((rank, i, "place", pt))
            else:
                cands.append((6 if kind is Kind.POI else 7, i, "poi", pt))
        cands.sort(key=lambda c: (c[0], c[1]))
        # region / country maps: places get a dot (metres per px at a 1024-px long side, whatever the resolution)
        small_scale = sc.frame.meters_per_px * max(sc.size) / 1024.0 > 25.0
        for rank, i, role, pt in cands:
            if not self._spend():
                return
            name, x, y = str(sc.names[i]), pt.x, pt.y
            if role == "place":
                suburb = rank >= 3
                text = name.upper() if suburb else name
                font = t.label_font if suburb else t.title_font
                run = self._run(text, font, t.label_size * PLACE_SCALE[rank], 0.14 if suburb else t.letter_spacing)
                self._point(run, name, "place", x, y, t.label_color, marker=small_scale and rank <= 2)
            else:
                run = self._run(name, t.label_font, t.label_size * 0.95)
                self._point(run, name, "poi", x, y, t.label_color, marker=True)

    def _point(self, run, text, role, x, y, color, marker: bool) -> bool:
        r = 3.2 * self.unit
        gap = r + 3.0 * self.unit
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
            if self._fits(boxes):
                self._take(Label(text, role, run, xf, boxes, color, (x, y) if marker else None))
                return True
        return False

    # -- areas ----------------------------------------------------------------------------------
    def place_areas(self) -> None:
        sc, t = self.scene, self.typo
        # The area the map is about is named by the title already (a country outline titled with its name).
        title = (sc.title or "").strip().casefold()
        idx = [i for i, (k, n) in enumerate(zip(sc.kinds, sc.names)) if k in AREA_KINDS and n]
        idx = [i for i in idx if str(sc.names[i]).strip().casefold() != title]
        if not idx:
            return
        geoms = sc.geometries[idx]
        poly = np.isin(shapely.get_type_id(geoms), [3, 6])
        idx = [i for i, p in zip(idx, poly) if p]
        areas = shapely.area(sc.geometries[idx])
        order = np.argsort(-areas)[:MAX_AREA_LABELS]
        for j in order:
            if not self._spend():
                return
            i = idx[j]
            kind, name, g = sc.kinds[i], str(sc.names[i]), sc.geometries[i]
            water = kind in WATER_KINDS
            big = kind in (Kind.SEA, Kind.ADMIN)
            text = name.upper() if big else name
            font = t.water_font if water else t.label_font
            size = t.label_size * (1.35 if big else 1.05)
            run = self._run(text, font, size, 0.18 if big else 0.04)
            if run.width * run.height * 2.5 > areas[j]:
                continue
            centre = shapely.get_coordinates(shapely.maximum_inscribed_circle(g, 1.0))[0]
            xf, box = straight(run, centre[0], centre[1], "center", pad=self.halo)
            if not shapely.contains(g, shapely.box(*box)) or not self._fits([box]):
                continue
            self._take(
                Label(text, "water" if water else "area", run, xf, [box], t.water_color if water else t.label_color)
            )

    # -- lines ----------------------------------------------------------------------------------
    def _road_groups(self) -> list[tuple[int, str, np.ndarray]]:
        """(rank, name, feature indices) of named streets and rivers, most important first (vectorised)."""
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

    def place_lines(self) -> None:
        sc, t = self.scene, self.typo
        repeat = 420 * self.unit
        for rank, name, members in self._road_groups():
            water = any(sc.kinds[i] is Kind.WATERWAY for i in members)
            font = t.water_font if water else t.label_font
            run = self._run(name, font, t.label_size * ROAD_SCALE[rank], 0.1 if water else t.letter_spacing)
            lines = shapely.get_parts(sc.geometries[members])
            merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
            merged = sorted(merged, key=lambda g: -g.length)
            placed: list[np.ndarray] = []
            for part in merged[:4]:
                if part.length < run.width + 2 * run.font.getSize() or len(placed) >= 3:
                    break
                self._on_line(run, name, part, water, placed, repeat)
                if not self._spend():
                    return

    def _on_line(self, run, name, part, water, placed, repeat) -> None:
        coords = shapely.get_coordinates(part)
        total, width = part.length, run.width
        slack = total - width - run.font.getSize()
        n_max = max(1, min(3, int(total // (width + repeat))))
        for frac in (0.5, 0.3, 0.7, 0.15, 0.85, 0.05, 0.95):
            if len(placed) >= n_max:
                return
            start = run.font.getSize() / 2 + frac * slack
            centre = shapely.get_coordinates(part.interpolate(start + width / 2))[0]
            if any(np.hypot(*(centre - c)) < repeat for c in placed):
                continue
            laid = along(run, coords, start, pad=self.halo)
            if laid is None or not self._fits(laid[1]):
                continue
            color = self.typo.water_color if water else self.typo.label_color
            self._take(Label(name, "water" if water else "road", run, laid[0], laid[1], color))
            placed.append(centre)


def place_labels(
    scene: Scene, typo: Typography, reserved: list[Box] = (), *, cancel: CancelToken = NEVER
) -> list[Label]:
    """Every label that fits, most important first: places, POIs, areas, then street and river names."""
    placer = Placer(scene, typo, list(reserved), cancel)
    placer.place_points()
    placer.place_areas()
    placer.place_lines()
    return placer.labels
