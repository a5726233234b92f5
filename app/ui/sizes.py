"""Export sizes for a framing: screen sizes and paper formats at a print resolution, all of the preview's aspect.

No Qt here. A paper of another shape than the framing holds the picture at the framing's aspect, as large as
it fits (a border on two sides): the export never re-frames the map. A size over MAX_SIDE pixels a side is
scaled down to it and its resolution (dpi) lowered to match; the lower dpi is what the PNG records.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.export.paper import METRIC, PAPERS, bleed_px
from app.jobs.render import MAX_SIDE

SCREEN_LONG_SIDE = 2048
PRINT_DPI = (300, 200, 150)
CAP_NOTE = f"{MAX_SIDE} px a side is the most MapBrush renders"


@dataclass(frozen=True)
class ExportSize:
    key: str  # "window" | "screen" | a PAPERS name
    label: str
    size: tuple[int, int]
    dpi: float | None = None  # None: a screen size (no print resolution recorded)
    note: str = ""  # how it sits on the paper; what the pixel cap did


def fit(ratio: float, long_side: int) -> tuple[int, int]:
    """Pixels of aspect `ratio` (w/h) with the given long side (at most MAX_SIDE)."""
    long_side = min(long_side, MAX_SIDE)
    if ratio >= 1:
        return long_side, max(16, round(long_side / ratio))
    return max(16, round(long_side * ratio)), long_side


def on_paper(name: str, ratio: float, dpi: float) -> ExportSize:
    """The picture at aspect `ratio` as large as it fits on paper `name` (turned to the picture's way) at `dpi`."""
    short, long = PAPERS[name]
    pw, ph = (long, short) if ratio >= 1 else (short, long)
    w_in, h_in = (pw, pw / ratio) if ratio >= pw / ph else (ph * ratio, ph)
    fills = abs(ratio - pw / ph) < 0.005 * ratio
    used = dpi
    if max(w_in, h_in) * dpi > MAX_SIDE:
        used = MAX_SIDE / max(w_in, h_in)
    size = fit(ratio, round(max(w_in, h_in) * used))
    bands = "above and below" if w_in >= pw - 1e-9 else "left and right"
    on_page = f"{_length(w_in, name)} × {_length(h_in, name)} on the page, blank paper {bands}"
    notes = ["fills the page" if fills else on_page]
    if used < dpi:
        notes.append(f"{used:.0f} dpi: {CAP_NOTE}")
    label = f"{name}, {used:.0f} dpi — {size[0]} × {size[1]} px"
    return ExportSize(name, label, size, round(used, 2), "; ".join(notes))


def export_sizes(ratio: float, window_size: tuple[int, int], dpi: float = PRINT_DPI[0]) -> list[ExportSize]:
    """What the export dialog offers for a framing of aspect `ratio`: the window's size, a screen size, the papers."""
    w, h = fit(ratio, max(window_size))
    sw, sh = fit(ratio, SCREEN_LONG_SIDE)
    out = [
        ExportSize("window", f"As set in the window — {w} × {h} px", (w, h), note="Framing → Size in the window"),
        ExportSize("screen", f"Screen — {sw} × {sh} px", (sw, sh), note="for a screen: no print resolution"),
    ]
    return out + [on_paper(name, ratio, dpi) for name in PAPERS]


def papers_filled(ratio: float) -> list[str]:
    """The papers a picture of aspect `ratio` fills without a border."""
    return [n for n, (s, lg) in PAPERS.items() if abs(min(ratio, 1 / ratio) - s / lg) < 0.005]


def _length(inches: float, paper: str) -> str:
    return f"{inches * 2.54:.1f} cm" if paper in METRIC else f"{inches:.1f} in"


def with_bleed(e: ExportSize, bleed_mm: float) -> tuple[ExportSize, int]:
    """A paper size `e` with `bleed_mm` added on every side at its dpi (app/export/paper.py's bleed_px), and the
    bleed in pixels; over MAX_SIDE, the resolution is lowered until the whole fits."""
    if e.dpi is None or bleed_mm <= 0:
        return e, 0
    dpi = e.dpi
    b = bleed_px(bleed_mm, dpi)
    size = e.size
    notes = e.note.split("; ")
    if max(size) + 2 * b > MAX_SIDE:
        dpi = e.dpi * MAX_SIDE / (max(size) + 2 * b)
        b = bleed_px(bleed_mm, dpi)
        scale = (MAX_SIDE - 2 * b) / max(size)
        size = max(16, round(size[0] * scale)), max(16, round(size[1] * scale))
        notes = [n for n in notes if not n.endswith(CAP_NOTE)] + [f"{dpi:.0f} dpi: {CAP_NOTE}"]
    full = size[0] + 2 * b, size[1] + 2 * b
    label = f"{e.label.split(' — ')[0].rsplit(',', 1)[0]}, {dpi:.0f} dpi — {full[0]} × {full[1]} px"
    note = f"{'; '.join(notes)}; {bleed_mm:g} mm bleed ({b} px) on every side, the margin grown by it"
    return ExportSize(e.key, label, full, round(dpi, 2), note), b
