"""Draw the MapBrush icon (an original, simple mark) at every size the platforms want.

A rounded parchment tile, a blue river, a folded-map grid and a brush stroke with a red route dot.
Writes packaging/icons/mapbrush-<N>.png (16…512), mapbrush.ico (Windows) and, with --icns,
mapbrush.icns (macOS; also built by the release workflow with iconutil). Run: python packaging/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parent / "icons"
SS = 4  # supersampling


def draw(size: int) -> Image.Image:
    n = size * SS
    im = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    pad = n * 0.04
    r = n * 0.2
    d.rounded_rectangle((pad, pad, n - pad, n - pad), radius=r, fill=(244, 232, 203, 255),
                        outline=(122, 84, 48, 255), width=max(SS, int(n * 0.035)))  # fmt: skip
    if size >= 32:  # the folds of a map; lost in noise below 32 px
        for k in (1, 2):
            x = pad + (n - 2 * pad) * k / 3
            d.line((x, pad * 2.5, x, n - pad * 2.5), fill=(214, 196, 158, 255), width=max(SS, int(n * 0.012)))
    river = [
        (n * 0.10, n * 0.70),
        (n * 0.30, n * 0.62),
        (n * 0.48, n * 0.72),
        (n * 0.70, n * 0.58),
        (n * 0.92, n * 0.64),
    ]
    d.line(river, fill=(70, 130, 180, 255), width=int(n * 0.09), joint="curve")
    stroke = [(n * 0.22, n * 0.36), (n * 0.42, n * 0.28), (n * 0.60, n * 0.38), (n * 0.80, n * 0.26)]
    d.line(stroke, fill=(46, 90, 60, 255), width=int(n * 0.11), joint="curve")
    cx, cy, rr = n * 0.62, n * 0.62, n * 0.085
    d.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=(196, 52, 42, 255), outline=(255, 250, 240, 255),
              width=max(SS, int(n * 0.025)))  # fmt: skip
    return im.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str]) -> int:
    ICONS.mkdir(exist_ok=True)
    images = {s: draw(s) for s in SIZES}
    for s, im in images.items():
        im.save(ICONS / f"mapbrush-{s}.png", optimize=True)
    images[256].save(ICONS / "mapbrush.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    if "--icns" in argv:
        images[512].save(ICONS / "mapbrush.icns")
    print(f"wrote {len(images)} PNG sizes and mapbrush.ico to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
