"""Tracks as the subject of the map: start and finish markers, an elevation profile strip, and a legend of the
tracks' colours when there are several — laid out with the rest of the furniture (app/render/overlay.py) and
drawn crisply by the overlay pass, after any engine painted the map.

The tracks are the scene's Kind.TRACK features (GPX tracks and routes, lines classified as tracks), in scene
order; from 2 to MAX_COLOURED of them get a colour each (`track_palette`, painted by app/styles/painter.py
through Layers.track_ids) and a legend; more than that are one web of lines in the style's track colour.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
import skia

from app.carto.scene import Scene
from app.mapdata.model import Kind
from app.render.fonts import font, hex_color
from app.render.furniture import _text, format_distance
from app.render.labels import contrast_ratio
from app.render.textlayout import Box, GlyphRun
from app.render.typography import Typography

MAX_COLOURED = 8  # tracks told apart by colour (and marked, and in the legend); more are one web of lines
LOOP_SHARE = 0.02  # a track whose ends lie within this share of its length is a loop: one start/finish marker
MIN_RISE_M = 3.0  # a profile flatter than this is no profile (a device that wrote one height throughout)
LEGEND_CHARS = 40  # a longer track name is cut with an ellipsis in the legend
PROFILE_CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
LEGEND_CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")
# Hues (degrees) tried for the second, third… track, each kept only when far enough from the hues already
# used: violet, orange, magenta, teal, gold, blue, vermilion, green — the style's lightness and saturation.
_HUES = (270.0, 32.0, 320.0, 180.0, 52.0, 222.0, 8.0, 140.0)
_MIN_HUE_GAP = 28.0


# ----- colours ---------------------------------------------------------------------------------------------
def track_palette(palette: dict[str, str], n: int = MAX_COLOURED) -> tuple[str, ...]:
    """`n` colours for tracks: the palette's track colour, then its track2, track3… where the style names them,
    else hues around the circle at the track colour's lightness and saturation (kept legible on paper)."""
    base = palette.get("track") or palette.get("mark") or palette.get("ink") or "#c0504d"
    out = [base]
    r, g, b = (int(base[i : i + 2], 16) / 255 for i in (1, 3, 5)) if len(base) == 7 else (0.75, 0.3, 0.3)
    h, lum, sat = colorsys.rgb_to_hls(r, g, b)
    lum, sat = min(max(lum, 0.32), 0.68), max(sat, 0.5)
    used = [h * 360.0]
    hues = iter(_HUES)
    for k in range(2, n + 1):
        named = palette.get(f"track{k}")
        if named:
            out.append(named)
            continue
        hue = next((x for x in hues if min(_hue_gap(x, u) for u in used) >= _MIN_HUE_GAP), None)
        if hue is None:  # every hue is near one used: vary the lightness of the base instead
            hue, lum = used[0], 1.0 - lum
        used.append(hue)
        rr, gg, bb = colorsys.hls_to_rgb(hue / 360.0, lum, sat)
        out.append("#{:02x}{:02x}{:02x}".format(*(round(v * 255) for v in (rr, gg, bb))))
    return tuple(out)


def _hue_gap(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def track_rows(scene: Scene) -> np.ndarray:
    """Indices of the scene's tracks, in drawing order."""
    return np.flatnonzero([k is Kind.TRACK for k in scene.kinds])


def coloured_rows(scene: Scene) -> np.ndarray | None:
    """The tracks that get a colour each: all of them when there are 2 to MAX_COLOURED, else None."""
    rows = track_rows(scene)
    return rows if 2 <= len(rows) <= MAX_COLOURED else None


def track_ids(scene: Scene, draw: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """HxW uint8: k on the k-th coloured track (from 1), the later on top; `draw(geoms)` gives the coverage
    (HxW uint8) of some geometries as the rasterizer strokes tracks. None unless the tracks are coloured apart."""
    rows = coloured_rows(scene)
    if rows is None:
        return None
    W, H = scene.size
    ids = np.zeros((H, W), np.uint8)
    for k, i in enumerate(rows.tolist(), start=1):
        m = draw(scene.geometries[i : i + 1])
        ids[(m >= 128) | ((m > 0) & (ids == 0))] = k
    return ids


def _name(scene: Scene, i: int, k: int) -> str:
    name = str(scene.names[i] or "").strip() if scene.names[i] is not None else ""
    name = name or f"Track {k + 1}"
    return name if len(name) <= LEGEND_CHARS else name[: LEGEND_CHARS - 1].rstrip() + "…"


# ----- markers ---------------------------------------------------------------------------------------------
def _ends(g) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(first point, last point, heading at the start in degrees clockwise from +x, length) of a line."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "LineString" and not p.is_empty]
    if not parts:
        return None
    first, last = shapely.get_coordinates(parts[0]), shapely.get_coordinates(parts[-1])
    length = float(sum(p.length for p in parts))
    a = first[0]
    ahead = shapely.get_coordinates(parts[0].interpolate(min(parts[0].length, max(6.0, 0.03 * parts[0].length))))
    d = ahead[0] - a
    heading = math.degrees(math.atan2(d[1], d[0])) if np.hypot(*d) > 0 else 0.0
    return a, last[-1], heading, length


@dataclass
class TrackMarker:
    x: float
    y: float
    role: str  # "start" | "finish" | "loop" (one marker for both ends of a loop)
    heading: float  # degrees clockwise from +x (y down): the way the track leaves its start
    unit: float
    typo: Typography

    @property
    def radius(self) -> float:
        return 8.0 * self.unit

    @property
    def box(self) -> Box:
        r = self.radius + (9.0 if self.role == "loop" else 2.0) * self.unit  # a loop's arrow sits outside
        return (self.x - r, self.y - r, self.x + r, self.y + r)

    def draw(self, canvas: skia.Canvas) -> None:
        u, t, r = self.unit, self.typo, self.radius
        ink, paper = hex_color(t.ink), hex_color(t.cartouche_fill)
        halo = skia.Paint(AntiAlias=True, Color=hex_color(t.halo_color, 200))
        canvas.drawCircle(self.x, self.y, r + 1.6 * u, halo)
        line = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(1.5 * u, 1.0))
        if self.role == "start":
            canvas.drawCircle(self.x, self.y, r, skia.Paint(AntiAlias=True, Color=paper))
            _arrow(canvas, self.x, self.y, self.heading, 0.62 * r, skia.Paint(AntiAlias=True, Color=ink))
        else:  # a chequered flag's disc
            canvas.save()
            clip = skia.Path()
            clip.addCircle(self.x, self.y, r)
            canvas.clipPath(clip, doAntiAlias=True)
            canvas.drawCircle(self.x, self.y, r, skia.Paint(AntiAlias=True, Color=paper))
            s = 2 * r / 3
            dark = skia.Paint(AntiAlias=False, Color=ink)
            for i in range(3):
                for j in range(3):
                    if (i + j) % 2 == 0:
                        canvas.drawRect(skia.Rect.MakeXYWH(self.x - r + i * s, self.y - r + j * s, s, s), dark)
            canvas.restore()
            if self.role == "loop":  # the way the loop sets off, just outside the disc
                a = math.radians(self.heading)
                d = r + 5.0 * u
                tip = 4.4 * u
                cx, cy = self.x + d * math.cos(a), self.y + d * math.sin(a)
                _arrow(canvas, cx, cy, self.heading, tip, skia.Paint(AntiAlias=True, Color=ink), halo, 2.4 * u)
        canvas.drawCircle(self.x, self.y, r, line)


def _arrow(canvas: skia.Canvas, x: float, y: float, heading: float, size: float, paint: skia.Paint,
           halo: skia.Paint | None = None, halo_w: float = 0.0) -> None:  # fmt: skip
    """A filled triangle centred on (x, y), pointing `heading` degrees clockwise from +x; with a halo round it."""
    a = math.radians(heading)
    pts = []
    for da, k in ((0.0, 1.0), (2.5, 0.85), (-2.5, 0.85)):
        pts.append((x + size * k * math.cos(a + da), y + size * k * math.sin(a + da)))
    path = skia.Path.Polygon(pts, True)
    if halo is not None and halo_w > 0:
        edge = skia.Paint(halo)
        edge.setStyle(skia.Paint.kStroke_Style)
        edge.setStrokeWidth(halo_w)
        edge.setStrokeJoin(skia.Paint.kRound_Join)
        canvas.drawPath(path, edge)
    canvas.drawPath(path, paint)


def track_markers(scene: Scene, typo: Typography, unit: float, bottom: float | None = None) -> list[TrackMarker]:
    """Start and finish markers of each track (up to MAX_COLOURED tracks): one combined marker for a loop. An
    end the canvas cut off (the clipped geometry ends on the canvas' edge, or below `bottom`, where a title band
    owns the page) gets none."""
    rows = track_rows(scene)
    if not 1 <= len(rows) <= MAX_COLOURED:
        return []
    W, H = scene.size
    bottom = H if bottom is None else bottom
    out: list[TrackMarker] = []

    def inside(p: np.ndarray) -> bool:
        return 0.0 <= p[0] <= W and 0.0 <= p[1] <= bottom

    for i in rows.tolist():
        ends = _ends(scene.geometries[i])
        if ends is None:
            continue
        a, b, heading, length = ends
        r = 8.0 * unit
        # A loop: its ends within 2% of its length — or so close that two markers would sit on each other.
        if float(np.hypot(*(b - a))) <= max(LOOP_SHARE * length, 2.2 * r):
            if inside(a):
                out.append(TrackMarker(float(a[0]), float(a[1]), "loop", heading, unit, typo))
            continue
        if inside(a):
            out.append(TrackMarker(float(a[0]), float(a[1]), "start", heading, unit, typo))
        if inside(b):
            out.append(TrackMarker(float(b[0]), float(b[1]), "finish", heading, unit, typo))
    return out


# ----- elevation profile -----------------------------------------------------------------------------------
@dataclass
class Series:
    distance_m: np.ndarray
    elevation_m: np.ndarray
    color: str


def profile_series(scene: Scene, typo: Typography) -> list[Series]:
    """The elevation profiles (the GPX reader's props["_profile"]) of the tracks that have one, in their
    colours; none when the heights hardly change."""
    rows = track_rows(scene)
    if not 1 <= len(rows) <= MAX_COLOURED:
        return []
    coloured = len(rows) >= 2
    out = []
    for k, i in enumerate(rows.tolist()):
        prof = scene.props[i].get("_profile") if i < len(scene.props) else None
        if not isinstance(prof, dict):
            continue
        d, e = np.asarray(prof.get("distance_m"), float), np.asarray(prof.get("elevation_m"), float)
        ok = np.isfinite(d) & np.isfinite(e)
        if d.shape != e.shape or ok.sum() < 2:
            continue
        color = typo.track_colors[k % len(typo.track_colors)] if coloured else typo.track_colors[0]
        out.append(Series(d[ok], e[ok], color))
    if not out or max(float(s.elevation_m.max()) for s in out) - min(float(s.elevation_m.min()) for s in out) < (
        MIN_RISE_M
    ):
        return []
    return out


def _metres(v: float) -> str:
    return f"{round(v):,} m"


@dataclass
class ProfileStrip:
    x: float  # top-left corner of the box
    y: float
    w: float
    h: float
    series: list[Series]
    unit: float
    typo: Typography

    @classmethod
    def layout(cls, series: list[Series], size: tuple[int, int], unit: float, typo: Typography, scale: float = 1.0):
        W, H = size
        w = min(300.0 * unit, 0.42 * W) * scale
        h = min(84.0 * unit, 0.22 * H) * max(scale, 0.7)
        return cls(0.0, 0.0, w, h, series, unit * max(scale, 0.7), typo)

    @property
    def box(self) -> Box:
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    def moved(self, x: float, y: float) -> ProfileStrip:
        return replace(self, x=x, y=y)

    def draw(self, canvas: skia.Canvas) -> None:
        u, t = self.unit, self.typo
        ink = hex_color(t.ink)
        text = hex_color(t.label_color)
        plate = skia.RRect.MakeRectXY(skia.Rect(*self.box), 3 * u, 3 * u)
        canvas.drawRRect(plate, skia.Paint(AntiAlias=True, Color=hex_color(t.cartouche_fill, 225)))
        frame = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(0.9 * u, 0.8))
        canvas.drawRRect(plate, frame)
        f = font(t.label_font, 10.5 * u)
        lo = min(float(s.elevation_m.min()) for s in self.series)
        hi = max(float(s.elevation_m.max()) for s in self.series)
        far = max(float(s.distance_m.max()) for s in self.series) or 1.0
        top_run, low_run = GlyphRun.make(_metres(hi), f), GlyphRun.make(_metres(lo), f)
        pad = 7 * u
        x0 = self.x + pad + max(top_run.width, low_run.width) + 5 * u
        x1 = self.x + self.w - pad
        y0 = self.y + pad + 2 * u
        y1 = self.y + self.h - pad - 12 * u  # a row below the chart for the distance
        if x1 - x0 < 10 or y1 - y0 < 6:
            return
        span = max(hi - lo, 1.0)

        def px(d: np.ndarray, e: np.ndarray) -> list[tuple[float, float]]:
            xs = x0 + (d / far) * (x1 - x0)
            ys = y1 - (e - lo) / span * (y1 - y0)
            return list(zip(xs.tolist(), ys.tolist()))

        guide = skia.Paint(AntiAlias=True, Color=hex_color(t.ink, 90), Style=skia.Paint.kStroke_Style)
        guide.setStrokeWidth(max(0.6 * u, 0.6))
        guide.setPathEffect(skia.DashPathEffect.Make([2 * u, 2 * u], 0.0))
        canvas.drawLine(x0, y0, x1, y0, guide)
        canvas.drawLine(x0, y1, x1, y1, guide)
        alpha = 110 if len(self.series) == 1 else 60
        for s in self.series:
            pts = px(s.distance_m, s.elevation_m)
            area = skia.Path.Polygon([(pts[0][0], y1), *pts, (pts[-1][0], y1)], True)
            faint = contrast_ratio(s.color, t.cartouche_fill) < 2.0  # a light track colour on a light plate
            canvas.drawPath(area, skia.Paint(AntiAlias=True, Color=hex_color(s.color, 200 if faint else alpha)))
            line = t.ink if faint else s.color  # (poster's yellow track is inked along its edge the same way)
            stroke = skia.Paint(AntiAlias=True, Color=hex_color(line), Style=skia.Paint.kStroke_Style)
            stroke.setStrokeWidth(max(1.4 * u, 1.0))
            stroke.setStrokeJoin(skia.Paint.kRound_Join)
            canvas.drawPath(skia.Path.Polygon(pts, False), stroke)
        label_x = x0 - 4 * u
        _text(canvas, top_run, label_x, y0, "right", text)
        _text(canvas, low_run, label_x, y1, "right", text)
        dist = GlyphRun.make(format_distance(_round_distance(far)), f)
        row = self.y + self.h - pad - 3 * u
        _text(canvas, dist, x1, row, "right", text)
        _text(canvas, GlyphRun.make("0", f), x0, row, "left", text)


def _round_distance(m: float) -> float:
    """A track's length for the profile's axis: 12.4 km, 850 m."""
    return round(m / 100.0) * 100.0 if m >= 1000 else round(m / 10.0) * 10.0


# ----- legend ----------------------------------------------------------------------------------------------
@dataclass
class TrackLegend:
    x: float  # top-left corner of the box
    y: float
    entries: list[tuple[str, str]]  # (track name, colour)
    unit: float
    typo: Typography

    @classmethod
    def layout(cls, entries: list[tuple[str, str]], unit: float, typo: Typography, scale: float = 1.0):
        return cls(0.0, 0.0, entries, unit * scale, typo)

    def _runs(self) -> list[GlyphRun]:
        f = font(self.typo.label_font, 12.0 * self.unit)
        return [GlyphRun.make(name, f) for name, _ in self.entries]

    @property
    def _row(self) -> float:
        return 17.0 * self.unit

    @property
    def box(self) -> Box:
        u = self.unit
        width = max((r.width for r in self._runs()), default=0.0)
        return (self.x, self.y, self.x + 8 * u + 22 * u + 6 * u + width + 9 * u,
                self.y + 7 * u + self._row * len(self.entries) + 5 * u)  # fmt: skip

    def moved(self, x: float, y: float) -> TrackLegend:
        return replace(self, x=x, y=y)

    def draw(self, canvas: skia.Canvas) -> None:
        u, t = self.unit, self.typo
        box = self.box
        plate = skia.RRect.MakeRectXY(skia.Rect(*box), 3 * u, 3 * u)
        canvas.drawRRect(plate, skia.Paint(AntiAlias=True, Color=hex_color(t.cartouche_fill, 225)))
        frame = skia.Paint(AntiAlias=True, Color=hex_color(t.ink), Style=skia.Paint.kStroke_Style)
        frame.setStrokeWidth(max(0.9 * u, 0.8))
        canvas.drawRRect(plate, frame)
        for k, ((_, color), run) in enumerate(zip(self.entries, self._runs())):
            mid = self.y + 7 * u + self._row * (k + 0.5)
            swatch = skia.Paint(AntiAlias=True, Color=hex_color(color), Style=skia.Paint.kStroke_Style)
            swatch.setStrokeWidth(4.0 * u)
            swatch.setStrokeCap(skia.Paint.kRound_Cap)
            sx = self.x + 8 * u
            canvas.drawLine(sx + 2 * u, mid, sx + 20 * u, mid, swatch)
            _text(canvas, run, sx + 28 * u, mid, "left", hex_color(t.label_color))


# ----- together --------------------------------------------------------------------------------------------
Place = Callable[[Callable[[float], object], tuple[str, ...]], object]  # (make(scale), corners) → placed item


@dataclass
class TrackOverlay:
    markers: list[TrackMarker] = field(default_factory=list)
    profile: ProfileStrip | None = None
    legend: TrackLegend | None = None

    @classmethod
    def of(cls, scene: Scene, typo: Typography, unit: float, bottom: float | None = None) -> TrackOverlay:
        """The markers (they sit where the tracks end); `place_furniture` adds the profile and legend."""
        return cls(track_markers(scene, typo, unit, bottom))

    def place_furniture(self, scene: Scene, typo: Typography, unit: float, place: Place, *, profile: bool) -> None:
        """Lay out the profile strip (styles with `elevation_profile`, tracks with heights) and, for several
        tracks, the legend, each where `place` finds a quiet place for it."""
        series = profile_series(scene, typo) if profile and typo.elevation_profile else []
        if series:
            self.profile = place(lambda k: ProfileStrip.layout(series, scene.size, unit, typo, k), PROFILE_CORNERS)
        rows = coloured_rows(scene)
        if rows is not None:
            colors = typo.track_colors
            entries = [(_name(scene, i, k), colors[k % len(colors)]) for k, i in enumerate(rows.tolist())]
            self.legend = place(lambda k: TrackLegend.layout(entries, unit, typo, k), LEGEND_CORNERS)

    @property
    def marker_boxes(self) -> list[Box]:
        return [m.box for m in self.markers]

    @property
    def furniture_boxes(self) -> list[Box]:
        return [f.box for f in (self.profile, self.legend) if f is not None]

    def draw(self, canvas: skia.Canvas) -> None:
        for item in (*self.markers, self.profile, self.legend):
            if item is not None:
                item.draw(canvas)
