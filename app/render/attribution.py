"""The data credit ("© OpenStreetMap contributors", a relief line): small text on a pale plate, placed like the other
furniture on a quiet place of the map, its box reserved against labels."""

from __future__ import annotations

from dataclasses import dataclass, replace

import skia

from app.render.fonts import font_for_text, hex_color
from app.render.textlayout import Box, GlyphRun, straight, text_blob
from app.render.typography import Typography

SIZE = 11.5  # px of the text at a 1024-px short side
MIN_PX = 10.0  # never smaller than this, however small the picture (the credit must stay legible)
LEADING = 1.3  # line pitch, in text sizes
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")


@dataclass
class Attribution:
    x: float  # top-left corner of the plate
    y: float
    lines: tuple[str, ...]
    size: float  # px of the text
    width: float  # px, the plate's
    typo: Typography

    @classmethod
    def layout(cls, lines, unit: float, typo: Typography, scale: float = 1.0) -> Attribution | None:
        """The credit for `lines` at `scale` of its usual size (never under MIN_PX); None when there is none."""
        lines = tuple(x for x in lines if x)
        if not lines:
            return None
        size = max(SIZE * unit * scale, MIN_PX)
        widest = max(GlyphRun.make(x, font_for_text(typo.label_font, size, x)).width for x in lines)
        return cls(0.0, 0.0, lines, size, widest + 2 * cls.pad_of(size), typo)

    @staticmethod
    def pad_of(size: float) -> float:
        return 0.45 * size

    @property
    def box(self) -> Box:
        pad = self.pad_of(self.size)
        return (self.x, self.y, self.x + self.width, self.y + 2 * pad + self.size * LEADING * len(self.lines))

    def moved(self, x: float, y: float) -> Attribution:
        """The same credit with its box's top-left corner at (x, y)."""
        return replace(self, x=x, y=y)

    def draw(self, canvas: skia.Canvas) -> None:
        t, pad = self.typo, self.pad_of(self.size)
        plate = skia.RRect.MakeRectXY(skia.Rect(*self.box), 0.25 * self.size, 0.25 * self.size)
        canvas.drawRRect(plate, skia.Paint(AntiAlias=True, Color=hex_color(t.cartouche_fill, 215)))
        ink = skia.Paint(AntiAlias=True, Color=hex_color(t.ink))
        right = self.x + self.width - pad
        for i, line in enumerate(self.lines):
            f = font_for_text(t.label_font, self.size, line)
            f.setEmbolden(True)  # a hair heavier: thin serifs at 10 px go grey on a print
            run = GlyphRun.make(line, f)
            mid = self.y + pad + self.size * LEADING * (i + 0.5)
            xf, _ = straight(run, right, mid, "right")
            blob = text_blob(run, xf)
            if blob is not None:
                canvas.drawTextBlob(blob, 0, 0, ink)
