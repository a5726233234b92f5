"""finish(): the crisp finishing pass drawn on top of any painted image — labels, title cartouche,
scale bar, north arrow — so that no engine has to draw text."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import skia

from app.carto.scene import Scene
from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.render.cartouche import Cartouche
from app.render.fonts import hex_color
from app.render.furniture import NorthArrow, ScaleBar
from app.render.labels import Label, place_labels
from app.render.textlayout import Box, text_blob
from app.render.typography import Typography


@dataclass
class OverlayLayout:
    cartouche: Cartouche | None = None
    scale_bar: ScaleBar | None = None
    north_arrow: NorthArrow | None = None
    labels: list[Label] = field(default_factory=list)

    @property
    def furniture_boxes(self) -> list[Box]:
        return [f.box for f in (self.cartouche, self.scale_bar, self.north_arrow) if f is not None]

    @property
    def label_boxes(self) -> list[list[Box]]:
        """The boxes of each placed label (one list per label)."""
        return [lab.boxes for lab in self.labels]


def _opposite_x(corner: str) -> str:
    return "right" if "left" in corner else "left"


def layout_overlay(
    scene: Scene,
    typography: Typography,
    *,
    image: np.ndarray | None = None,
    labels: bool = True,
    scale_bar: bool = True,
    north_arrow: bool = True,
    cancel: CancelToken = NEVER,
) -> OverlayLayout:
    """Where everything goes: furniture first (its boxes are reserved), then labels around it."""
    t = typography
    W, H = scene.size
    unit = min(W, H) / 1024.0
    inset = max(scene.frame.margin * 0.45, 14.0 * unit)
    out = OverlayLayout()
    out.cartouche = Cartouche.layout(scene.title, scene.subtitle, t, (W, H), unit, inset, image)
    corner = out.cartouche.corner if out.cartouche else "top-left"
    bottom = H - inset
    if out.cartouche and out.cartouche.style == "banner":
        bottom = out.cartouche.box[1] - 10 * unit
    if scale_bar and t.scale_bar:
        side = "left" if corner != "bottom-left" else "right"
        max_px = 0.2 * W
        x = inset + 8 * unit
        bar = ScaleBar.layout(scene.frame.meters_per_px, x, bottom, unit, max_px, t)
        if bar is not None and side == "right":
            bar.x = W - inset - 8 * unit - bar.length
        out.scale_bar = bar
    if north_arrow and t.north_arrow != "none":
        size = (104.0 if t.north_arrow == "compass" else 70.0) * unit
        r = size * 0.62
        if corner == "top-right":
            cx, cy = W - inset - r, bottom - r
        else:
            cx, cy = W - inset - r, inset + r
        if out.cartouche and out.cartouche.style == "banner":
            cx, cy = W - inset - r, bottom - r
            if out.scale_bar and out.scale_bar.box[2] > cx - r:
                cx, cy = W - inset - r, inset + r
        out.north_arrow = NorthArrow(cx, cy, size, scene.frame.rotation, t.north_arrow, t)
    if labels:
        out.labels = place_labels(scene, t, out.furniture_boxes, cancel=cancel)
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
        alpha = 110 if inside_area else 235
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
    layout: OverlayLayout | None = None,
    progress=NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> np.ndarray:
    """Draw labels, title cartouche, scale bar and north arrow on a copy of `image` (HxWx3 uint8).

    `layout` (from `layout_overlay`) skips the placement, e.g. when it was computed while painting.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"the image to finish must be HxWx3 uint8, got {image.shape} {image.dtype}")
    H, W = image.shape[:2]
    if scene.size != (W, H):
        raise InputError(f"the image is {W}×{H} but the map was laid out for {scene.size[0]}×{scene.size[1]}")
    progress("finish", 0, 3, "placing labels")
    lay = layout or layout_overlay(
        scene, typography, image=image, labels=labels, scale_bar=scale_bar, north_arrow=north_arrow, cancel=cancel
    )
    cancel.check()
    progress("finish", 1, 3, f"drawing {len(lay.labels)} labels")
    rgba = np.empty((H, W, 4), np.uint8)
    rgba[..., :3] = image
    rgba[..., 3] = 255
    draw_overlay(rgba, lay, typography, progress=progress, cancel=cancel)
    progress("finish", 3, 3, "done")
    return np.ascontiguousarray(rgba[..., :3])


def draw_overlay(
    rgba: np.ndarray, lay: OverlayLayout, typography: Typography, *, progress=NULL_PROGRESS, cancel: CancelToken = NEVER
) -> None:
    """Draw a laid-out overlay onto an HxWx4 premultiplied RGBA buffer, in place."""
    H, W = rgba.shape[:2]
    surface = skia.Surface(rgba, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
    canvas = surface.getCanvas()
    unit = min(W, H) / 1024.0
    for i, label in enumerate(lay.labels):
        draw_label(canvas, label, typography, unit)
        if i % 500 == 499:
            cancel.check()
    progress("finish", 2, 3, "drawing title, scale bar and north arrow")
    for item in (lay.cartouche, lay.scale_bar, lay.north_arrow):
        if item is not None:
            item.draw(canvas)


def overlay_mask(size: tuple[int, int], lay: OverlayLayout, typography: Typography, *, cancel=NEVER) -> np.ndarray:
    """HxW bool: the pixels the overlay `lay` covers (what finish() draws over the painting)."""
    W, H = size
    rgba = np.zeros((H, W, 4), np.uint8)
    draw_overlay(rgba, lay, typography, cancel=cancel)
    return rgba[..., 3] > 0
