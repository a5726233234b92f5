"""Paper formats in pixels at a print resolution, with a bleed: shared by `mapbrush render --paper` and the window.

No Qt here. A paper is (short side, long side) in inches; portrait by default, `landscape` swaps the sides. The
bleed is added on every side of the trim (the paper as cut), so the picture is the trim plus twice the bleed. A
size over MAX_SIDE pixels a side lowers the resolution until it fits; the lower dpi is what the PNG records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import InputError
from app.jobs.render import MAX_SIDE

MM_PER_IN = 25.4
DEFAULT_DPI = 300.0
# paper name → (short side, long side) in inches
PAPERS: dict[str, tuple[float, float]] = {
    "A4": (210 / MM_PER_IN, 297 / MM_PER_IN),
    "A3": (297 / MM_PER_IN, 420 / MM_PER_IN),
    "A2": (420 / MM_PER_IN, 594 / MM_PER_IN),
    "A1": (594 / MM_PER_IN, 841 / MM_PER_IN),
    "Letter": (8.5, 11.0),
    "Tabloid": (11.0, 17.0),
    "50×70 cm": (500 / MM_PER_IN, 700 / MM_PER_IN),
    "18×24 in": (18.0, 24.0),
    "24×36 in": (24.0, 36.0),
}
METRIC = {"A4", "A3", "A2", "A1", "50×70 cm"}


def paper_name(text: str) -> str:
    """The PAPERS name `text` means: any case, "x" for "×", spaces optional ("a3", "50x70cm", "18x24in")."""

    def key(s: str) -> str:
        return s.lower().replace("×", "x").replace(" ", "")

    for name in PAPERS:
        if key(name) == key(text):
            return name
    raise InputError(f"unknown paper '{text}' (choose from {', '.join(PAPERS)})")


def parse_length_mm(text: str) -> float:
    """A length like 3mm, 0.5cm, 0.125in (a bare number is millimetres) in millimetres."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(mm|cm|in)?\s*", text.lower())
    if not m:
        raise InputError(f"'{text}' is not a length like 3mm, 0.5cm or 0.125in")
    return float(m.group(1)) * {"mm": 1.0, "cm": 10.0, "in": MM_PER_IN}[m.group(2) or "mm"]


@dataclass(frozen=True)
class PaperSize:
    paper: str
    landscape: bool
    dpi: float  # the resolution used: the asked one, or lower where MAX_SIDE capped it
    asked_dpi: float
    bleed_mm: float
    bleed_px: int  # on every side
    trim: tuple[int, int]  # the paper as cut, in pixels
    size: tuple[int, int]  # the whole picture: trim plus the bleed on every side

    @property
    def capped(self) -> bool:
        return self.dpi < self.asked_dpi

    def trim_box(self) -> tuple[int, int, int, int]:
        """The trim area in the picture's pixels: left, top, right, bottom."""
        b = self.bleed_px
        return b, b, b + self.trim[0], b + self.trim[1]

    def margin(self, margin: float) -> float:
        """The picture's margin (a fraction of its short side) that keeps `margin` of the trim's short side clear
        inside the trim: the margin grows by the bleed, so nothing important sits in the bleed."""
        return (margin * min(self.trim) + self.bleed_px) / min(self.size)

    def warning(self) -> str | None:
        if not self.capped:
            return None
        return (
            f"{self.paper} at {self.asked_dpi:g} dpi is over {MAX_SIDE} px a side; rendered at {self.dpi:.1f} dpi "
            f"({self.size[0]}x{self.size[1]} px)"
        )

    def metadata(self) -> dict:
        left, top, right, bottom = self.trim_box()
        return {
            "paper": self.paper,
            "orientation": "landscape" if self.landscape else "portrait",
            "bleed_mm": self.bleed_mm,
            "bleed_px": self.bleed_px,
            "trim_box": [left, top, right, bottom],
            "dpi": round(self.dpi, 2),
        }


def paper_size(
    name: str, dpi: float = DEFAULT_DPI, *, landscape: bool = False, bleed_mm: float = 0.0, max_side: int = MAX_SIDE
) -> PaperSize:
    """Paper `name` at `dpi` with `bleed_mm` on every side, in pixels (A4 at 300 dpi: 2480 × 3508)."""
    if dpi <= 0:
        raise InputError(f"dpi {dpi:g} must be positive")
    if bleed_mm < 0 or bleed_mm > 50:
        raise InputError(f"bleed {bleed_mm:g} mm is out of range (0 to 50 mm)")
    short, long = PAPERS[name]
    w_in, h_in = (long, short) if landscape else (short, long)
    bleed_in = bleed_mm / MM_PER_IN
    used = min(dpi, max_side / (max(w_in, h_in) + 2 * bleed_in))
    bleed_px = round(bleed_in * used)
    w, h = (min(round(side * used), max_side - 2 * bleed_px) for side in (w_in, h_in))  # a pixel rounded over
    if used < dpi:  # capped: the long side fills the cap (the bleed rounded down could leave it a pixel short)
        w, h = (max_side - 2 * bleed_px, h) if w_in >= h_in else (w, max_side - 2 * bleed_px)
    size = w + 2 * bleed_px, h + 2 * bleed_px
    return PaperSize(name, landscape, used, dpi, bleed_mm, bleed_px, (w, h), size)


def bleed_px(bleed_mm: float, dpi: float) -> int:
    """Pixels of a bleed of `bleed_mm` at `dpi`, on one side (3 mm at 300 dpi: 35)."""
    return round(bleed_mm / MM_PER_IN * dpi)
