"""Map furniture: scale bar, north arrow, title cartouche — laid out first (their boxes are reserved
against labels), drawn last."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import skia

from app.render.fonts import font, hex_color
from app.render.textlayout import Box, GlyphRun, straight, text_blob
from app.render.typography import Typography

_NICE = (1.0, 2.0, 5.0)


def nice_distance(meters_per_px: float, max_px: float) -> tuple[float, float, str]:
    """The longest round distance (1, 2 or 5 × 10^k m) whose bar fits in max_px: (metres, px, label)."""
    if not (meters_per_px > 0 and math.isfinite(meters_per_px)) or max_px <= 0:
        return 0.0, 0.0, ""
    limit = meters_per_px * max_px
    k = math.floor(math.log10(limit))
    best = 10.0 ** (k - 1)
    for e in (k - 1, k):
        for n in _NICE:
            d = n * 10.0**e
            if d <= limit:
                best = max(best, d)
    return best, best / meters_per_px, format_distance(best)


def format_distance(meters: float) -> str:
    if meters >= 1000:
        km = meters / 1000
        return f"{km:,.0f} km" if km >= 1 and km == int(km) else f"{km:g} km"
    if meters >= 1:
        return f"{meters:.0f} m"
    return f"{meters * 100:.0f} cm"


def _text(canvas: skia.Canvas, run: GlyphRun, x: float, y: float, align: str, color, halo=None, halo_w=0.0):
    xf, _ = straight(run, x, y, align)
    blob = text_blob(run, xf)
    if blob is None:
        return
    if halo is not None and halo_w > 0:
        p = skia.Paint(AntiAlias=True, Color=halo, Style=skia.Paint.kStroke_Style, StrokeWidth=halo_w * 2)
        p.setStrokeJoin(skia.Paint.kRound_Join)
        canvas.drawTextBlob(blob, 0, 0, p)
    canvas.drawTextBlob(blob, 0, 0, skia.Paint(AntiAlias=True, Color=color))


@dataclass
class ScaleBar:
    x: float  # left end of the bar
    y: float  # top of the bar
    length: float  # px
    meters: float
    label: str
    unit: float  # px per 1024-px unit
    typo: Typography
    label_w: float = 0.0  # px, the distance label's width (centred on the bar's right end)

    @classmethod
    def layout(cls, meters_per_px: float, x: float, y_bottom: float, unit: float, max_px: float, typo):
        meters, px, label = nice_distance(meters_per_px, max_px)
        if px <= 0:
            return None
        label_w = GlyphRun.make(label, font(typo.label_font, 13.0 * unit)).width
        return cls(x, y_bottom - 16 * unit, px, meters, label, unit, typo, label_w)

    @property
    def box(self) -> Box:
        u = self.unit
        right = max(12 * u, self.label_w / 2 + 5 * u)  # the label overhangs the bar's end by half its width
        return (self.x - 12 * u, self.y - 22 * u, self.x + self.length + right, self.y + 12 * u)

    def moved(self, x: float, y: float) -> ScaleBar:
        """The same bar with its box's top-left corner at (x, y)."""
        return replace(self, x=x + 12 * self.unit, y=y + 22 * self.unit)

    def draw(self, canvas: skia.Canvas) -> None:
        u, t = self.unit, self.typo
        ink, paper = hex_color(t.ink), hex_color(t.cartouche_fill)
        x0, y0, h = self.x, self.y, 5.5 * u
        n = 5 if self.meters / 10 ** math.floor(math.log10(self.meters)) == 5 else 4
        seg = self.length / n
        plate = skia.RRect.MakeRectXY(skia.Rect(*self.box), 3 * u, 3 * u)
        canvas.drawRRect(plate, skia.Paint(AntiAlias=True, Color=hex_color(t.cartouche_fill, 200)))
        for i in range(n):
            r = skia.Rect.MakeXYWH(x0 + i * seg, y0, seg, h)
            canvas.drawRect(r, skia.Paint(AntiAlias=True, Color=ink if i % 2 == 0 else paper))
        frame = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(0.9 * u, 0.8))
        canvas.drawRect(skia.Rect.MakeXYWH(x0, y0, self.length, h), frame)
        f = font(t.label_font, 13.0 * u)
        mid = y0 - 9 * u
        _text(canvas, GlyphRun.make("0", f), x0, mid, "center", ink)
        _text(canvas, GlyphRun.make(self.label, f), x0 + self.length, mid, "center", ink)


@dataclass
class NorthArrow:
    cx: float
    cy: float
    size: float  # px, full height of the symbol
    rotation: float  # clockwise degrees (the map's rotation)
    style: str  # "simple" | "compass"
    typo: Typography

    @property
    def box(self) -> Box:
        r = self.size * (0.62 if self.style == "compass" else 0.55)
        return (self.cx - r, self.cy - r, self.cx + r, self.cy + r)

    def moved(self, x: float, y: float) -> NorthArrow:
        """The same symbol with its box's top-left corner at (x, y)."""
        x0, y0, _, _ = self.box
        return replace(self, cx=self.cx + x - x0, cy=self.cy + y - y0)

    def draw(self, canvas: skia.Canvas) -> None:
        ink, paper = hex_color(self.typo.ink), hex_color(self.typo.cartouche_fill)
        s = self.size
        canvas.save()
        canvas.translate(self.cx, self.cy)
        canvas.rotate(self.rotation)
        line = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(s * 0.02, 0.8))
        fill = skia.Paint(AntiAlias=True, Color=ink)
        light = skia.Paint(AntiAlias=True, Color=paper)
        if self.style == "compass":
            canvas.drawCircle(0, 0, s * 0.36, light)
            canvas.drawCircle(0, 0, s * 0.36, line)
            canvas.drawCircle(0, 0, s * 0.31, line)
            for k in range(8):
                long = k % 2 == 0
                _star_point(
                    canvas, k * 45.0, s * (0.44 if long else 0.27), s * (0.07 if long else 0.05), fill, light, line
                )
            letter_y = -s * 0.5
        else:
            canvas.translate(0, s * 0.1)  # centre tip-to-base plus the letter in the box
            tip, notch, half, base = -0.3 * s, 0.14 * s, 0.15 * s, 0.3 * s
            left = skia.Path.Polygon([(0, tip), (-half, base), (0, notch)], True)
            right = skia.Path.Polygon([(0, tip), (0, notch), (half, base)], True)
            canvas.drawPath(left, fill)
            canvas.drawPath(right, light)
            canvas.drawPath(right, line)
            canvas.drawPath(left, line)
            letter_y = -0.44 * s
        f = font(self.typo.title_font, s * 0.22)
        run = GlyphRun.make("N", f)
        _text(canvas, run, 0, letter_y, "center", ink, paper, s * 0.03)
        canvas.restore()


def _star_point(canvas, angle, length, half_w, dark, light, line) -> None:
    """One point of a compass star, pointing `angle` degrees clockwise from up: left half dark, right light."""
    canvas.save()
    canvas.rotate(angle)
    left = skia.Path.Polygon([(0, -length), (-half_w, 0), (0, 0)], True)
    right = skia.Path.Polygon([(0, -length), (half_w, 0), (0, 0)], True)
    canvas.drawPath(left, dark)
    canvas.drawPath(right, light)
    canvas.drawPath(right, line)
    canvas.restore()
