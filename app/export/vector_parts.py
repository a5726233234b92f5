"""What a vector export draws, as named parts in drawing order: each part is one layer (`<g id="roads">` in SVG).

From the bottom:
- the ground: `painting`, a picture of what only pixels can hold (paper grain, washes, hatching, stipple: the
  style's painting of the map's *areas*, without its line work), or with `plain` a flat `paper` rectangle;
- the data (procedural engine only): one part per layer (`water`, `green`, `buildings`, `roads`, `rail`,
  `tracks`…), with the lines and points as vector strokes and discs; with `plain` the areas are vector fills too
  (in painted mode they are in the painting: their look is a raster effect);
- the overlay, drawn by the same code as finish(): `labels`, `track_furniture`, `title`, `scale_bar`,
  `north_arrow`, `attribution`. Its text stays text.

For the AI engines the ground is the AI picture itself and no data part is drawn over it.

A part's colour is the colour the style actually paints the kind (the median of the painted picture over the
kind's pixels), so the vector map looks like the raster one whatever effects the style chains; a style's
`outline` effects give roads their casing and (plain) areas their edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import shapely
import skia

from app.mapdata.model import KIND_ORDER, Kind
from app.render import semantic as sem
from app.render.overlay import draw_label
from app.render.raster import KindPaths, make_paint
from app.styles.canvas import DERIVED, parse_colour, selector_kinds
from app.styles.effects import EFFECTS

RGB = tuple[int, int, int]

# Data parts, bottom first, and the kinds each draws (in the rasterizer's order inside a part). Green lies under
# water (a lake in a park), roads over buildings, as the raster render draws them.
DATA_PARTS: tuple[tuple[str, tuple[Kind, ...]], ...] = (
    ("admin", (Kind.ADMIN,)),
    ("green", (Kind.PARK, Kind.FOREST)),
    ("water", (Kind.SEA, Kind.WATER, Kind.WATERWAY)),
    ("buildings", (Kind.BUILDING,)),
    ("other", (Kind.OTHER,)),
    ("roads", (Kind.PATH, Kind.SERVICE, Kind.RESIDENTIAL, Kind.TERTIARY, Kind.SECONDARY, Kind.PRIMARY, Kind.MOTORWAY)),
    ("rail", (Kind.RAIL,)),
    ("tracks", (Kind.TRACK,)),
    ("points", (Kind.POI,)),
)
_SAMPLES = 512  # the colour of a kind is measured on a grid of about this many cells along the short side


@dataclass(frozen=True)
class Part:
    """One layer of the vector document: its id and how to draw it on any skia canvas (pixel units)."""

    id: str
    draw: Callable[[skia.Canvas], None]


def _rgb(value: str, palette: dict[str, str]) -> RGB:
    c = parse_colour(palette.get(value, value))
    return tuple(round(float(v) * 255) for v in c)  # type: ignore[return-value]


def painted_colours(sketch: np.ndarray, layers) -> tuple[dict[Kind, RGB], RGB | None]:
    """(the colour the painting gives each kind, the paper's colour): medians of the painted picture over the
    pixels each kind fully covers and no kind drawn later covers; the paper where no kind is."""
    h, w = sketch.shape[:2]
    step = max(1, min(h, w) // _SAMPLES)
    pic = sketch[::step, ::step]
    covered = np.zeros(pic.shape[:2], bool)
    out: dict[Kind, RGB] = {}
    for kind in sorted(layers.masks, key=lambda k: -KIND_ORDER[k]):  # top first
        m = layers.masks[kind]
        sub = m[::step, ::step]
        full = (sub >= 250) & ~covered
        if full.sum() < 4:  # thin lines: the sampling grid misses their cores; take the whole mask's cores
            core = m >= max(int(m.max()) * 0.8, 1)
            vals = sketch[core]
        else:
            vals = pic[full]
        if len(vals):
            out[kind] = tuple(int(v) for v in np.median(vals.reshape(-1, 3), axis=0))  # type: ignore[assignment]
        covered |= sub > 127
    paper = pic[~covered]
    return out, (tuple(int(v) for v in np.median(paper, axis=0)) if len(paper) else None)  # type: ignore[return-value]


def _outlines(style, unit: float) -> dict[Kind, tuple[RGB, float, float]]:
    """Kind → (colour, width px, opacity) of the style's `outline` effects drawn along the kind's own shape."""
    out: dict[Kind, tuple[RGB, float, float]] = {}
    fx = EFFECTS["outline"]
    for spec in style.effects:
        if spec.name != "outline":
            continue
        p = {**fx.defaults, **spec.params}
        if p["source"] != "mask":
            continue
        kinds: set[Kind] = set()
        for s in p["kinds"]:
            if s == "all":
                kinds |= set(Kind)
            elif s not in DERIVED:
                kinds |= set(selector_kinds(s))
        for k in kinds:
            out[k] = (_rgb(p["color"], style.palette), float(p["width"]) * unit, float(p["opacity"]))
    return out


def _polygonal(g):
    """The areas of a geometry (polygons of a collection), or None."""
    t = shapely.get_type_id(g)
    if t in (3, 6):
        return g
    if t == 7:
        polys = [p for p in shapely.get_parts(shapely.get_parts(g)) if shapely.get_type_id(p) == 3]
        return shapely.multipolygons(polys) if polys else None
    return None


def area_painting(result, style) -> np.ndarray:
    """The style's painting of the map's areas alone (paper, washes, hatching, pictures): no lines or points,
    which the vector layers draw. Same style and seed as the render, so it matches the raster picture."""
    from app.render.raster import rasterize
    from app.styles.painter import paint

    scene = result.scene
    areas = np.array([_polygonal(g) for g in scene.geometries], dtype=object)
    keep = np.array([a is not None for a in areas], bool)
    props = scene.props
    sub = replace(
        scene,
        geometries=areas[keep],
        kinds=scene.kinds[keep],
        names=scene.names[keep],
        props=[p for p, k in zip(props, keep) if k] if len(props) == len(keep) else props,
    )
    layers = rasterize(sub, style.raster)
    return paint(layers, style, seed=int(result.metadata.get("seed") or 0))


def image_part(id_: str, rgb: np.ndarray) -> Part:
    h, w = rgb.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    image = skia.Image.fromarray(rgba, colorType=skia.kRGBA_8888_ColorType)

    def draw(canvas: skia.Canvas) -> None:
        canvas.drawImage(image, 0, 0)

    return Part(id_, draw)


def _data_parts(result, style, *, plain: bool) -> list[Part]:
    scene, layers = result.scene, result.layers
    w, h = scene.size
    short, unit, spec = min(w, h), min(w, h) / 1024.0, style.raster
    colours, _ = painted_colours(result.sketch, layers)
    outlines = _outlines(style, unit)
    codes = np.array([KIND_ORDER[k] for k in scene.kinds], np.int16)

    def colour(kind: Kind) -> RGB:
        return colours.get(kind, sem.PALETTE.get(kind, sem.PALETTE[Kind.OTHER]))

    def dash(kind: Kind):
        d = spec.dashes.get(kind)
        k = unit * spec.width_scale
        return (max(d[0] * k, 0.5), max(d[1] * k, 0.5)) if d else None

    def track_colour(g, fallback: RGB) -> RGB:
        """A track's own colour where several are painted apart: the painting under its line."""
        ids = layers.track_ids
        if ids is None:
            return fallback
        xy = np.rint(shapely.get_coordinates(g)).astype(int)
        xy = xy[(xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)]
        k = np.bincount(ids[xy[:, 1], xy[:, 0]]) if len(xy) else np.zeros(1, int)
        k[0] = 0
        if k.max() == 0:
            return fallback
        sel = (ids == k.argmax()) & (layers.masks[Kind.TRACK] >= 250)
        vals = result.sketch[sel]
        return tuple(int(v) for v in np.median(vals, axis=0)) if len(vals) else fallback  # type: ignore[return-value]

    parts = []
    for name, kinds in DATA_PARTS:
        present = [k for k in kinds if np.any(codes == KIND_ORDER[k])]
        if not present:
            continue
        paths = {k: KindPaths.of(scene.geometries[codes == KIND_ORDER[k]]) for k in present}
        drawn = [k for k in present
                 if paths[k].lines or len(paths[k].points) or (plain and paths[k].areas.countVerbs())]  # fmt: skip
        if not drawn:
            continue
        tracks = scene.geometries[codes == KIND_ORDER[Kind.TRACK]] if Kind.TRACK in drawn else None

        def draw(canvas: skia.Canvas, present=drawn, paths=paths, tracks=tracks) -> None:
            for k in present:  # areas, then every casing under every line (junctions stay open), then the lines
                p = paths[k]
                if plain and p.areas.countVerbs():
                    canvas.drawPath(p.areas, make_paint(colour(k)))
                    if k in outlines:
                        rgb, ow, op = outlines[k]
                        canvas.drawPath(p.areas, make_paint(rgb, op, stroke=ow))
                    elif k in sem.BORDERED:
                        border = make_paint(sem.LINE_ART, 0.6, stroke=max(sem.BORDER_WIDTH * unit, 1.0))
                        canvas.drawPath(p.areas, border)
            for k in present:  # an outline effect inks a band `ow` wide centred on the line's edge
                if k in outlines and paths[k].lines:
                    rgb, ow, op = outlines[k]
                    width = sem.line_width(k, short, spec.width_scale, spec.widths) + ow
                    for line in paths[k].lines:
                        canvas.drawPath(line, make_paint(rgb, op, stroke=width, dash=dash(k)))
            for k in present:
                width = sem.line_width(k, short, spec.width_scale, spec.widths)
                if k in outlines:  # the ink band's inner half covers the line's edge
                    width = max(width - outlines[k][1], 0.5 * width)
                if k is Kind.TRACK and tracks is not None and layers.track_ids is not None:
                    for g in tracks:
                        for line in KindPaths.of(np.array([g], dtype=object)).lines:
                            canvas.drawPath(line, make_paint(track_colour(g, colour(k)), stroke=width))
                else:
                    for line in paths[k].lines:
                        canvas.drawPath(line, make_paint(colour(k), stroke=width, dash=dash(k)))
                if len(paths[k].points):
                    disc = skia.Path()
                    r = sem.point_radius(k, short, spec.point_radius)
                    for x, y in paths[k].points.tolist():
                        disc.addCircle(x, y, r)
                    canvas.drawPath(disc, make_paint(colour(k)))

        parts.append(Part(name, draw))
    return parts


def _overlay_parts(result, style) -> list[Part]:
    lay = result.overlay
    if lay is None:
        return []
    typo = style.typography
    w, h = result.scene.size
    unit = min(w, h) / 1024.0
    parts = []
    if lay.labels:

        def labels(canvas: skia.Canvas) -> None:
            for label in lay.labels:
                draw_label(canvas, label, typo, unit)

        parts.append(Part("labels", labels))
    t = lay.tracks
    if t is not None and (t.markers or t.profile is not None or t.legend is not None):
        parts.append(Part("track_furniture", t.draw))
    for name, attr in (("title", "cartouche"), ("scale_bar", "scale_bar"), ("north_arrow", "north_arrow"),
                       ("attribution", "attribution")):  # fmt: skip
        item = getattr(lay, attr, None)
        if item is not None:
            parts.append(Part(name, item.draw))
    return parts


def vector_parts(result, style, *, plain: bool = False) -> list[Part]:
    """The parts of a finished render (app.jobs.render.RenderResult) in drawing order, bottom first."""
    if result.engine != "procedural":  # the AI picture at full resolution, the crisp overlay on top
        ground = [image_part("painting", result.stages.get(result.engine, result.sketch))]
        return ground + _overlay_parts(result, style)
    if plain:
        _, paper = painted_colours(result.sketch, result.layers)
        rgb = paper or _rgb(style.palette.get("paper", style.palette.get("background", "#ffffff")), style.palette)
        w, h = result.scene.size

        def ground(canvas: skia.Canvas) -> None:
            canvas.drawRect(skia.Rect.MakeWH(w, h), make_paint(rgb))

        base = [Part("paper", ground)]
    else:
        base = [image_part("painting", area_painting(result, style))]
    return base + _data_parts(result, style, plain=plain) + _overlay_parts(result, style)
