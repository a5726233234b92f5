"""The title cartouche: "box", "banner" (a band across the foot of the map) or "ornate" (double rule
frame with corner flourishes)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import skia

from app.render.fonts import font_for_text, hex_color
from app.render.textlayout import Box, GlyphRun, straight, text_blob
from app.render.typography import Typography

CORNERS = ("bottom-left", "top-left", "top-right", "bottom-right")  # order of preference


def furniture_inset(size: tuple[int, int], margin_px: float) -> float:
    """How far furniture keeps from the page's edge (px)."""
    unit = min(size) / 1024.0
    return max(margin_px * 0.45, 14.0 * unit)


def frame_reserve(
    title: str | None, subtitle: str | None, typo: Typography, size: tuple[int, int], margin: float
) -> tuple[float, float]:
    """(top, bottom) px of the page a title band owns, to frame the map clear of it (app.carto.compose's
    `reserve`): a banner's height from the page's foot; (0, 0) for every other cartouche or no title."""
    if typo.cartouche != "banner" or not (title or subtitle):
        return 0.0, 0.0
    W, H = size
    inset = furniture_inset(size, round(float(margin) * min(W, H)))
    band = Cartouche.layout(title, subtitle, typo, size, min(W, H) / 1024.0, inset)
    return 0.0, (H - band.box[1]) if band is not None else 0.0


def _corner_box(corner: str, w: float, h: float, W: int, H: int, inset: float) -> Box:
    x0 = inset if "left" in corner else W - inset - w
    y0 = inset if "top" in corner else H - inset - h
    return (x0, y0, x0 + w, y0 + h)


@dataclass
class Cartouche:
    style: str
    box: Box
    title: GlyphRun | None
    subtitle: GlyphRun | None
    title_y: float  # cap-height middle of the title line
    sub_y: float
    unit: float
    typo: Typography
    corner: str

    @classmethod
    def layout(cls, title, subtitle, typo: Typography, size, unit: float, inset: float, *, scale: float = 1.0):
        """The cartouche for a title on a `size` page: a banner across its foot, else a card in the bottom-left
        corner that the overlay moves to the quietest place (`moved`); `scale` shrinks a card, not a banner."""
        style = typo.cartouche
        if not (title or subtitle):  # "none" still draws the title, just without a frame
            return None
        W, H = size
        max_w = W * (0.86 if style == "banner" else 0.62)
        ts = typo.title_size * unit * (1.0 if style == "banner" else scale)
        t_text = title.upper() if (title and typo.title_uppercase) else title
        spacing = typo.letter_spacing + (0.06 if typo.title_uppercase else 0.0)
        t_run = s_run = None
        for _ in range(12):  # shrink the title until it fits
            t_run = GlyphRun.make(t_text, font_for_text(typo.title_font, ts, t_text), spacing) if t_text else None
            if t_run is None or t_run.width <= max_w:
                break
            ts *= 0.9
        ss = max(ts * 0.36, typo.label_size * unit * (1.1 if style == "banner" else 1.1 * scale))
        if subtitle:
            s_run = GlyphRun.make(subtitle, font_for_text(typo.label_font, ss, subtitle), 0.12)
            while s_run.width > max_w and ss > 6:
                ss *= 0.9
                s_run = GlyphRun.make(subtitle, font_for_text(typo.label_font, ss, subtitle), 0.12)
        ornate = style == "ornate"
        pad_x = ts * (1.1 if ornate else 0.7)
        pad_y = ts * (0.75 if ornate else 0.5)
        gap = ts * (0.75 if ornate else 0.5)
        t_cap = t_run.cap if t_run else 0.0
        s_cap = s_run.cap if s_run else 0.0
        inner_w = max(t_run.width if t_run else 0.0, s_run.width if s_run else 0.0)
        inner_h = t_cap + (gap + s_cap if (t_run and s_run) else s_cap) + (t_run.descent * 0.5 if t_run else 0.0)
        w, h = inner_w + 2 * pad_x, inner_h + 2 * pad_y
        if style == "banner":
            box = (0.0, H - h - inset * 0.4, float(W), H - inset * 0.4)
            corner = "bottom"
        else:
            corner = CORNERS[0]
            box = _corner_box(corner, w, h, W, H, inset)
        top = box[1] + pad_y
        title_y = top + t_cap / 2
        sub_y = (title_y + t_cap / 2 + gap + s_cap / 2) if t_run else top + s_cap / 2
        return cls(style, box, t_run, s_run, title_y, sub_y, unit, typo, corner)

    @property
    def footprint(self) -> Box:
        """The box with what is drawn around it: the card's soft drop shadow (below and to the right)."""
        x0, y0, x1, y1 = self.box
        if self.style in ("banner", "none"):
            return self.box
        u = self.unit
        return (x0 - 10 * u, y0 - 9 * u, x1 + 14 * u, y1 + 15 * u)

    def moved(self, x: float, y: float) -> Cartouche:
        """The same cartouche with its box's top-left corner at (x, y)."""
        dx, dy = x - self.box[0], y - self.box[1]
        x0, y0, x1, y1 = self.box
        box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        return replace(self, box=box, title_y=self.title_y + dy, sub_y=self.sub_y + dy, corner="placed")

    def draw(self, canvas: skia.Canvas) -> None:
        u, t = self.unit, self.typo
        ink = hex_color(t.ink)
        paper = hex_color(t.cartouche_fill, 255 if self.style == "banner" else 238)  # a banner ends the map
        x0, y0, x1, y1 = self.box
        rect = skia.Rect(x0, y0, x1, y1)
        rule = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(u, 0.8))
        if self.style == "none":
            self._text(canvas, halo=True)
            return
        if self.style != "banner":
            shadow = skia.Paint(AntiAlias=True, Color=hex_color(t.ink, 60))
            shadow.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 4 * u))
            canvas.drawRect(rect.makeOffset(2 * u, 3 * u), shadow)
        canvas.drawRect(rect, skia.Paint(AntiAlias=True, Color=paper))
        if self.style == "banner":
            for dy, wd in ((0.0, 1.6), (4.0, 0.7)):
                p = skia.Paint(AntiAlias=True, Color=ink, StrokeWidth=max(wd * u, 0.7), Style=skia.Paint.kStroke_Style)
                canvas.drawLine(x0, y0 + dy * u, x1, y0 + dy * u, p)
                canvas.drawLine(x0, y1 - dy * u, x1, y1 - dy * u, p)
        elif self.style == "ornate":
            self._ornate(canvas, rect, ink)
        else:
            canvas.drawRect(rect.makeInset(3 * u, 3 * u), rule)
            thin = skia.Paint(rule)
            thin.setStrokeWidth(max(0.5 * u, 0.5))
            canvas.drawRect(rect, thin)
        self._text(canvas)
        if self.style == "ornate" and self.title and self.subtitle:
            _divider(
                canvas,
                0.5 * (x0 + x1),
                0.5 * (self.title_y + self.sub_y) + self.title.descent * 0.25,
                self.title.width,
                u,
                ink,
            )

    def _text(self, canvas: skia.Canvas, *, halo: bool = False) -> None:
        """Title and subtitle, centred in the box; with a soft halo when there is no frame behind them."""
        t, u = self.typo, self.unit
        cx = 0.5 * (self.box[0] + self.box[2])
        title_color, label_color = hex_color(t.title_color), hex_color(t.label_color)
        for run, y, color in ((self.title, self.title_y, title_color), (self.subtitle, self.sub_y, label_color)):
            if run is None:
                continue
            xf, _ = straight(run, cx, y, "center")
            blob = text_blob(run, xf)
            if blob is None:
                continue
            if halo:
                glow = skia.Paint(AntiAlias=True, Color=hex_color(t.halo_color, 200))
                glow.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 3 * u))
                canvas.drawTextBlob(blob, 0, 0, glow)
            canvas.drawTextBlob(blob, 0, 0, skia.Paint(AntiAlias=True, Color=color))

    def _ornate(self, canvas: skia.Canvas, rect: skia.Rect, ink) -> None:
        u = self.unit
        thick = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(2.2 * u, 1))
        thin = skia.Paint(AntiAlias=True, Color=ink, Style=skia.Paint.kStroke_Style, StrokeWidth=max(0.8 * u, 0.6))
        outer = rect.makeInset(2 * u, 2 * u)
        inner = rect.makeInset(7 * u, 7 * u)
        canvas.drawRect(outer, thick)
        canvas.drawRect(inner, thin)
        dot = skia.Paint(AntiAlias=True, Color=ink)
        for cx, cy, sx, sy in (
            (inner.left(), inner.top(), 1, 1),
            (inner.right(), inner.top(), -1, 1),
            (inner.left(), inner.bottom(), 1, -1),
            (inner.right(), inner.bottom(), -1, -1),
        ):
            _flourish(canvas, cx, cy, sx, sy, u, dot, thin)
        for cx, cy in (
            (outer.left(), outer.top()),
            (outer.right(), outer.top()),
            (outer.left(), outer.bottom()),
            (outer.right(), outer.bottom()),
        ):
            d = 4.5 * u  # a diamond on each outer corner
            canvas.drawPath(skia.Path.Polygon([(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)], True), dot)


def _flourish(canvas, cx: float, cy: float, sx: int, sy: int, u: float, dot, line) -> None:
    """A corner ornament inside the inner rule: a leaf on the diagonal and a scroll along each side."""
    r = 20 * u

    def at(a: float, b: float) -> tuple[float, float]:  # a along x, b along y, both pointing inwards
        return cx + sx * a, cy + sy * b

    leaf = skia.Path()
    leaf.moveTo(*at(2 * u, 2 * u))
    leaf.cubicTo(*at(0.55 * r, 0.1 * r), *at(0.85 * r, 0.5 * r), *at(0.8 * r, 0.8 * r))
    leaf.cubicTo(*at(0.5 * r, 0.85 * r), *at(0.1 * r, 0.55 * r), *at(2 * u, 2 * u))
    canvas.drawPath(leaf, dot)
    scroll = skia.Paint(line)
    scroll.setStrokeWidth(line.getStrokeWidth() * 1.4)
    scroll.setStrokeCap(skia.Paint.kRound_Cap)
    for flip in (False, True):

        def pt(a: float, b: float, flip=flip) -> tuple[float, float]:
            return at(b, a) if flip else at(a, b)

        p = skia.Path()
        p.moveTo(*pt(0.35 * r, 0.12 * r))
        p.cubicTo(*pt(1.0 * r, 0.0), *pt(1.5 * r, 0.5 * r), *pt(2.0 * r, 0.2 * r))
        # ...ending in a volute: a spiral turning back towards the corner.
        rho = 0.2 * r
        for phi in np.linspace(0.0, 5.0, 24)[1:]:
            k = rho * (1.0 - 0.11 * phi)
            p.lineTo(*pt(2.0 * r + k * np.sin(phi), 0.2 * r + rho - k * np.cos(phi)))
        canvas.drawPath(p, scroll)


def _divider(canvas, cx: float, y: float, width: float, u: float, ink) -> None:
    """A thin rule with a diamond in the middle, between title and subtitle."""
    half = min(width * 0.3, 120 * u)
    p = skia.Paint(AntiAlias=True, Color=ink, StrokeWidth=max(0.8 * u, 0.6), Style=skia.Paint.kStroke_Style)
    d = 3.5 * u
    canvas.drawLine(cx - half, y, cx - 2 * d, y, p)
    canvas.drawLine(cx + 2 * d, y, cx + half, y, p)
    diamond = skia.Path.Polygon([(cx, y - d), (cx + d, y), (cx, y + d), (cx - d, y)], True)
    canvas.drawPath(diamond, skia.Paint(AntiAlias=True, Color=ink))
