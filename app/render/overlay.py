"""finish(): the crisp finishing pass drawn on top of any painted image — labels, title cartouche,
scale bar, north arrow — so that no engine has to draw text."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import skia

from app.carto.framing import scale_spread
from app.carto.scene import Scene
from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.render.attribution import CORNERS as CREDIT_CORNERS
from app.render.attribution import Attribution
from app.render.cartouche import CORNERS, Cartouche, furniture_inset
from app.render.fonts import hex_color
from app.render.furniture import NorthArrow, ScaleBar
from app.render.labels import Label, place_labels
from app.render.quiet import QuietMap, best_place
from app.render.textlayout import Box, text_blob
from app.render.tracks import TrackOverlay
from app.render.typography import Typography


@dataclass
class OverlayLayout:
    cartouche: Cartouche | None = None
    scale_bar: ScaleBar | None = None
    north_arrow: NorthArrow | None = None
    attribution: Attribution | None = None  # the data's credit lines (scene.attribution)
    labels: list[Label] = field(default_factory=list)
    tracks: TrackOverlay = field(default_factory=TrackOverlay)  # start/finish markers, profile strip, legend

    @property
    def furniture_boxes(self) -> list[Box]:
        """What each piece of furniture covers (a card's shadow included)."""
        items = (self.cartouche, self.scale_bar, self.north_arrow, self.attribution)
        return [_footprint(f) for f in items if f is not None] + self.tracks.furniture_boxes

    @property
    def label_boxes(self) -> list[list[Box]]:
        """The boxes of each placed label (one list per label)."""
        return [lab.boxes for lab in self.labels]


SHRINK = (1.0, 0.85, 0.7, 0.55)  # sizes furniture tries, largest first, until one finds a quiet place
SCALE_SPREAD_MAX = 1.10  # no linear scale bar where the scale varies more than this across the picture
CARTOUCHE_CORNERS = CORNERS
ARROW_CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")
BAR_CORNERS = ("bottom-left", "bottom-right", "top-left", "top-right")


def _footprint(item) -> Box:
    return getattr(item, "footprint", item.box)


def _place(qm: QuietMap, make, corners, area: Box, taken: list[Box], gap: float):
    """The first size of `make(scale)` (an item with .box and .moved(x, y)) that finds a quiet place, moved
    there; else the size and place that hide the fewest data pixels. None when `make` gives nothing."""
    best = None  # (key, item, candidate)
    for scale in SHRINK:
        item = make(scale)
        if item is None:
            return None
        x0, y0, x1, y1 = _footprint(item)
        cand, quiet = best_place(qm, qm.candidates(x1 - x0, y1 - y0, area, corners, taken, gap))
        if cand is None:
            continue
        # The candidate places the footprint; the item moves its own box, which sits inside it.
        at = (cand.x + item.box[0] - x0, cand.y + item.box[1] - y0)
        if quiet:
            return item.moved(*at)
        key = (cand.hard > 0, cand.covered)
        if best is None or key < best[0]:
            best = (key, item, at)
    if best is None:  # larger than the page at every size: where it was laid out
        return make(SHRINK[-1])
    return best[1].moved(*best[2])


def layout_overlay(
    scene: Scene,
    typography: Typography,
    *,
    image: np.ndarray | None = None,
    layers=None,
    labels: bool = True,
    scale_bar: bool = True,
    north_arrow: bool = True,
    profile: bool = True,
    tracks: bool = True,
    cancel: CancelToken = NEVER,
) -> OverlayLayout:
    """Where everything goes: furniture first (its boxes are reserved), then labels around it.

    Furniture goes to the quietest place: judged on the data pixels of `layers` (app.render.layers.Layers:
    lines, points, buildings, tracks and the outlines of areas — a cartouche may sit on the sea, never on a
    track), else on the detail of the painted `image`; it shrinks when no place is quiet at full size. A title
    banner spans the page's foot, where compose() framed the map clear of it (cartouche.frame_reserve).
    With `tracks`, the tracks' start/finish markers, their legend and (with `profile`) the elevation profile
    strip (app/render/tracks.py). The scene's attribution lines (the data's credit) last, on a quiet place too.
    """
    t = typography
    W, H = scene.size
    unit = min(W, H) / 1024.0
    inset = furniture_inset(scene.size, scene.frame.margin)
    gap = 6.0 * unit
    qm = QuietMap.of((W, H), layers=layers, image=image)
    out = OverlayLayout()
    area = (inset, inset, W - inset, H - inset)
    taken: list[Box] = []
    if t.cartouche == "banner":
        out.cartouche = Cartouche.layout(scene.title, scene.subtitle, t, (W, H), unit, inset)
        if out.cartouche is not None:
            area = (inset, inset, W - inset, out.cartouche.box[1] - 10 * unit)
    # Tracks' start and finish markers sit where the tracks end; the rest of the furniture keeps clear of them.
    if tracks:
        out.tracks = TrackOverlay.of(scene, t, unit, out.cartouche.box[1] if t.cartouche == "banner" and out.cartouche
                                     else None)  # fmt: skip
        taken.extend(out.tracks.marker_boxes)
    if t.cartouche != "banner":

        def cartouche(k: float) -> Cartouche | None:
            return Cartouche.layout(scene.title, scene.subtitle, t, (W, H), unit, inset, scale=k)

        out.cartouche = _place(qm, cartouche, CARTOUCHE_CORNERS, area, taken, gap)
        if out.cartouche is not None:
            taken.append(_footprint(out.cartouche))
    if tracks:
        out.tracks.place_furniture(scene, t, unit, lambda make, corners: _place(qm, make, corners, area, taken, gap),
                                   profile=profile)  # fmt: skip
        taken.extend(out.tracks.furniture_boxes)
    if north_arrow and t.north_arrow != "none":
        base = (104.0 if t.north_arrow == "compass" else 70.0) * unit

        def arrow(k: float) -> NorthArrow:
            return NorthArrow(0.0, 0.0, base * k, scene.frame.rotation, t.north_arrow, t)

        out.north_arrow = _place(qm, arrow, ARROW_CORNERS, area, taken, gap)
        if out.north_arrow is not None:
            taken.append(out.north_arrow.box)
    if scale_bar and t.scale_bar and scale_spread(scene.frame) <= SCALE_SPREAD_MAX:
        mpp = scene.frame.meters_per_px

        def bar(k: float) -> ScaleBar | None:
            return ScaleBar.layout(mpp, 0.0, 0.0, unit, 0.2 * W * k, t)

        out.scale_bar = _place(qm, bar, BAR_CORNERS, area, taken, gap)
        if out.scale_bar is not None:
            taken.append(out.scale_bar.box)
    credit = getattr(scene, "attribution", None) or []
    if credit:  # owed to the data's sources (OpenStreetMap's ODbL): always drawn, never under MIN_PX

        def attribution(k: float) -> Attribution | None:
            return Attribution.layout(credit, unit, t, scale=k)

        out.attribution = _place(qm, attribution, CREDIT_CORNERS, area, taken, gap)
    if labels:
        out.labels = place_labels(scene, t, out.furniture_boxes + out.tracks.marker_boxes, cancel=cancel)
    return out


def placed_label_boxes(scene: Scene, typography: Typography, **kw) -> tuple[list[list[Box]], list[Box]]:
    """(boxes of each placed label, boxes of the map furniture) — what finish() would draw."""
    lay = layout_overlay(scene, typography, **kw)
    return lay.label_boxes, lay.furniture_boxes


def draw_label(canvas: skia.Canvas, label: Label, typo: Typography, unit: float) -> None:
    blob = text_blob(label.run, label.xforms)
    if label.marker is not None:
        x, y = label.marker
        r = 3.2 * unit
        canvas.drawCircle(x, y, r + 1.2 * unit, skia.Paint(AntiAlias=True, Color=hex_color(typo.halo_color)))
        canvas.drawCircle(x, y, r, skia.Paint(AntiAlias=True, Color=hex_color(typo.ink)))
    if blob is None:
        return
    halo_w = typo.halo_width * unit
    if halo_w > 0:
        inside_area = label.role in ("water", "area")
        alpha = 235  # a faint halo let a dark painting (navy water) swallow the names inside areas
        halo = skia.Paint(AntiAlias=True, Color=hex_color(typo.halo_color, alpha), Style=skia.Paint.kStroke_Style)
        halo.setStrokeWidth(halo_w * (1.4 if inside_area else 2.0))
        halo.setStrokeJoin(skia.Paint.kRound_Join)
        canvas.drawTextBlob(blob, 0, 0, halo)
    canvas.drawTextBlob(blob, 0, 0, skia.Paint(AntiAlias=True, Color=hex_color(label.color)))


def finish(
    image: np.ndarray,
    scene: Scene,
    typography: Typography,
    *,
    labels: bool = True,
    scale_bar: bool = True,
    north_arrow: bool = True,
    profile: bool = True,
    tracks: bool = True,
    layout: OverlayLayout | None = None,
    in_place: bool = False,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> np.ndarray:
    """Draw labels, title cartouche, scale bar and north arrow on a copy of `image` (HxWx3 uint8), or on `image`
    itself with `in_place` (an export that keeps nothing but the finished picture: one full-size copy fewer).

    `layout` (from `layout_overlay`) skips the placement, e.g. when it was computed while painting.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"the image to finish must be HxWx3 uint8, got {image.shape} {image.dtype}")
    H, W = image.shape[:2]
    if scene.size != (W, H):
        raise InputError(f"the image is {W}×{H} but the map was laid out for {scene.size[0]}×{scene.size[1]}")
    progress("finish", 0, 3, "placing labels")
    lay = layout or layout_overlay(
        scene,
        typography,
        image=image,
        labels=labels,
        scale_bar=scale_bar,
        north_arrow=north_arrow,
        profile=profile,
        tracks=tracks,
        cancel=cancel,
    )
    cancel.check()
    progress("finish", 1, 3, f"drawing {len(lay.labels)} labels")
    out = image if in_place else image.copy()
    draw_overlay_rgb(out, lay, typography, progress=progress, cancel=cancel)
    progress("finish", 3, 3, "done")
    return out


BAND_ROWS = 1024  # rows of the picture drawn over at a time (an RGBA band of 28 MB at 7016 px wide)


def _rgba_bands(H: int, W: int):
    """(first row, an RGBA buffer for BAND_ROWS rows from it — fewer in the last band) down a picture H rows high;
    one buffer, reused: what a band held is gone when the next is yielded."""
    rgba = np.empty((min(BAND_ROWS, H), W, 4), np.uint8)
    for r0 in range(0, H, BAND_ROWS):
        yield r0, rgba[: min(BAND_ROWS, H - r0)]


def draw_overlay_rgb(
    rgb: np.ndarray, lay: OverlayLayout, typography: Typography, *, progress=NULL_PROGRESS, cancel: CancelToken = NEVER
) -> None:
    """Draw a laid-out overlay onto an HxWx3 uint8 picture, in place, a band of rows at a time: skia draws into
    RGBA, and an RGBA copy of the whole picture would be a third larger than the picture (0.28 GB at A1)."""
    H, W = rgb.shape[:2]
    for r0, band in _rgba_bands(H, W):
        cancel.check()
        band[..., :3] = rgb[r0 : r0 + len(band)]
        band[..., 3] = 255
        draw_overlay(band, lay, typography, top=r0, size=(W, H), progress=progress if r0 == 0 else NULL_PROGRESS,
                     cancel=cancel)  # fmt: skip
        rgb[r0 : r0 + len(band)] = band[..., :3]


def draw_overlay(
    rgba: np.ndarray,
    lay: OverlayLayout,
    typography: Typography,
    *,
    top: int = 0,
    size: tuple[int, int] | None = None,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> None:
    """Draw a laid-out overlay onto an HxWx4 premultiplied RGBA buffer, in place. The buffer may be a band of rows
    of the picture, from row `top`, of a picture of `size` (width, height; it sets the sizes of marks)."""
    W, H = size or (rgba.shape[1], rgba.shape[0])
    surface = skia.Surface(rgba, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
    canvas = surface.getCanvas()
    canvas.translate(0, -top)
    unit = min(W, H) / 1024.0
    for i, label in enumerate(lay.labels):
        draw_label(canvas, label, typography, unit)
        if i % 500 == 499:
            cancel.check()
    progress("finish", 2, 3, "drawing title, scale bar and north arrow")
    lay.tracks.draw(canvas)  # markers, profile strip, legend of the tracks
    for item in (lay.cartouche, lay.scale_bar, lay.north_arrow, lay.attribution):
        if item is not None:
            item.draw(canvas)


def overlay_mask(size: tuple[int, int], lay: OverlayLayout, typography: Typography, *, cancel=NEVER) -> np.ndarray:
    """HxW bool: the pixels the overlay `lay` covers (what finish() draws over the painting)."""
    W, H = size
    out = np.empty((H, W), bool)
    for r0, band in _rgba_bands(H, W):  # a band at a time, as draw_overlay_rgb
        band.fill(0)
        draw_overlay(band, lay, typography, top=r0, size=size, cancel=cancel)
        out[r0 : r0 + len(band)] = band[..., 3] > 0
    return out
