"""Is a style legible? Two measures any style can be run through, on a render of real-shaped data:

    line_contrast(render_map([streets], "parchment"))     # ≥ LINE_CONTRAST: the line art stands off the paper
    land_sea_difference(render_map([world], "noir"))       # ≥ LAND_SEA_DELTA_E: land and sea tell apart

Lightness is CIE L* (sRGB → linear → Y with the sRGB/WCAG weights → L*, D65), divided by 100, so 0..1.
L* rather than relative luminance because it is perceptually even: a step of 0.30 reads as much on a dark
page (noir) as on a light one (parchment), where relative luminance would call a faint grey on black
"contrast 0.05" and a mid grey on cream "0.5". Colour difference is CIE76 ΔE (the distance in L*a*b*).

- paper: the median lightness of the pixels that no layer covers (every mask and the line art 0).
- most inked: the 5% of pixels in the picture's middle (the central half of its width and of its
  height) whose lightness differs most from the paper; the contrast is their mean difference.
- land and sea: the median L*a*b* colour of the pixels fully inside the sea (and other water) and of the
  pixels fully on land: inside the admin areas when the map has any (on a world map the page round the
  globe is not land), else off all water;
  taken on the picture averaged over 4 x 4 pixels, so a hatching counts as the tone it makes.

Renders here leave out the overlay (title, labels, scale bar, north arrow): what is measured is the painting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely

from app.jobs.render import RenderRequest, RenderResult, render
from app.mapdata.model import Kind

LINE_CONTRAST = 0.30  # L*/100 between the paper and the most-inked 5% of the middle
LAND_SEA_DELTA_E = 15.0  # CIE76 ΔE between the median land and the median sea colour
WATER_KINDS = (Kind.SEA, Kind.WATER)
LAND_KINDS = (Kind.ADMIN,)


def render_map(inputs: list[Path], style: str, *, size=(1200, 900), seed=5, user_styles_dir=None) -> RenderResult:
    """A render of `inputs` in `style` without the overlay."""
    req = RenderRequest(
        list(inputs), style=style, size=size, seed=seed, title="", labels=False, scale_bar=False,
        north_arrow=False, user_styles_dir=user_styles_dir,
    )  # fmt: skip
    return render(req)


def lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (…x3) → CIE L*a*b* (D65), float (…x3), L* in 0..100."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """L*/100 of sRGB uint8 pixels (…x3): 0 black, 1 white."""
    return lab(rgb)[..., 0] / 100.0


def paper_lightness(result: RenderResult) -> float:
    """The median lightness of the pixels no layer covers."""
    layers = result.layers
    covered = np.maximum.reduce([*layers.masks.values(), layers.lineart]) > 0
    free = ~covered
    assert free.mean() > 0.05, f"only {free.mean():.1%} of the picture is bare paper: nothing to measure it by"
    return float(np.median(lightness(result.image[free])))


def line_contrast(result: RenderResult, share: float = 0.05) -> float:
    """The mean lightness difference between the paper and the `share` most-inked pixels of the middle."""
    paper = paper_lightness(result)
    h, w = result.image.shape[:2]
    middle = result.image[h // 4 : h - h // 4, w // 4 : w - w // 4]
    diff = np.abs(lightness(middle).ravel() - paper)
    n = max(1, round(share * diff.size))
    return float(np.partition(diff, diff.size - n)[-n:].mean())


def land_and_sea(result: RenderResult, block: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The median L*a*b* colours of the land and of the sea (see the module's docstring), taken on the picture
    averaged over `block` x `block` pixels: a fine hatching reads as the tone it makes, as it does to the eye."""
    masks = result.layers.masks
    h, w = (n - n % block for n in result.image.shape[:2])
    zero = np.zeros((h, w), np.uint8)

    def blocks(a: np.ndarray, reduce) -> np.ndarray:
        a = a[:h, :w]
        return reduce(a.reshape(h // block, block, w // block, block, *a.shape[2:]), axis=(1, 3))

    water = np.maximum.reduce([masks.get(k, zero)[:h, :w] for k in WATER_KINDS])
    land_areas = [masks[k][:h, :w] for k in LAND_KINDS if k in masks]
    land = blocks(np.maximum.reduce(land_areas) if land_areas else 255 - water, np.min) == 255
    land &= blocks(water, np.max) == 0
    sea = blocks(water, np.min) == 255
    assert sea.mean() > 0.02 and land.mean() > 0.02, f"land {land.mean():.1%}, sea {sea.mean():.1%}: need both"
    pixels = lab(blocks(result.image.astype(np.float64), np.mean))
    return np.median(pixels[land], axis=0), np.median(pixels[sea], axis=0)


def land_sea_difference(result: RenderResult) -> float:
    """CIE76 ΔE between the median land and the median sea colour."""
    land, sea = land_and_sea(result)
    return float(np.linalg.norm(land - sea))


# ---- data: a street grid with no areas, and a world of a few continents cut into countries ----

STREET_NAMES = ("Mill", "Church", "Station", "Harbour", "Market", "Bridge", "Castle", "Garden", "Park", "Queen", "King")


def write_street_grid(path: Path, cols: int = 17, rows: int = 13, lon0: float = 10.0, lat0: float = 53.5) -> Path:
    """A town's grid of named streets (LineStrings, no areas): every third one a primary road, the rest
    residential, about 65 m apart as in a town centre, slightly bent as real streets are."""
    dx, dy = 0.0010, 0.0006  # ~66 m at 53.5° N
    features = []
    for i in range(cols):
        x = lon0 + i * dx
        line = [[x + 0.00003 * np.sin(j + i), lat0 + j * dy / 4] for j in range(4 * (rows - 1) + 1)]
        name = f"{STREET_NAMES[i % len(STREET_NAMES)]} Street"
        features.append(_street(name, "primary" if i % 3 == 1 else "residential", line))
    for j in range(rows):
        y = lat0 + j * dy
        line = [[lon0 + i * dx / 4, y + 0.00002 * np.cos(i + j)] for i in range(4 * (cols - 1) + 1)]
        name = f"{STREET_NAMES[(j + 7) % len(STREET_NAMES)]} Road"
        features.append(_street(name, "primary" if j % 4 == 2 else "residential", line))
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _street(name: str, highway: str, coords) -> dict:
    geometry = {"type": "LineString", "coordinates": [[round(x, 7), round(y, 7)] for x, y in coords]}
    return {"type": "Feature", "properties": {"name": name, "highway": highway}, "geometry": geometry}


_CONTINENTS = [  # centre lon, lat; half-size lon, lat; countries (roughly the real ones, a third of the globe)
    (-100, 48, 38, 22, 3),
    (-60, -15, 20, 32, 2),
    (15, 50, 28, 16, 4),
    (20, 0, 26, 32, 3),
    (95, 45, 50, 24, 4),
    (135, -25, 22, 13, 1),
]


def write_world(path: Path, seed: int = 4) -> Path:
    """Admin-0 countries with Natural Earth's columns on six continents across the globe (no sea in the file:
    the map composes the ocean around them)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    features = []
    for lon, lat, hx, hy, n in _CONTINENTS:
        r = 1 + 0.1 * np.sin(3 * t + lon) + 0.05 * np.cos(7 * t + lat)
        land = shapely.Polygon(np.column_stack([lon + hx * r * np.cos(t), lat + hy * r * np.sin(t)]))
        if n == 1:
            cells = [land]
        else:
            xy = np.column_stack([rng.uniform(-hx, hx, n) / 2 + lon, rng.uniform(-hy, hy, n) / 2 + lat])
            pts = shapely.multipoints(xy)
            cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=land.buffer(5)))
            cells = [shapely.intersection(c, land) for c in cells]
        for g in cells:
            name = f"Country {len(features) + 1}"
            props = {"featurecla": "Admin-0 country", "ADMIN": name, "NAME": name, "ISO_A3": f"C{len(features):02d}"}
            features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(g)})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
