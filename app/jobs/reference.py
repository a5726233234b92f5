"""A finished MapBrush PNG as the final stage's reference image, without its overlay.

A preview exported by MapBrush carries crisp labels, a title cartouche, a scale bar and a north arrow.
Handed to FLUX.2 Klein as they are, the model copies them as garbled text under the fresh overlay. The
overlay is deterministic, so the request its `mapbrush` metadata describes, laid out at the PNG's size by
`jobs/render.overlay_mask`, says exactly which pixels it covers; those pixels are filled from their
surroundings (push-pull), and the final stage repaints them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.mapdata.model import Kind, MapData

F32 = np.float32


def clean_reference(
    image: np.ndarray,
    meta: dict | None,
    data: MapData,
    *,
    user_styles_dir: Path | None = None,
    cancel: CancelToken = NEVER,
) -> tuple[np.ndarray, str | None]:
    """(image without MapBrush's overlay, None) — or (image unchanged, why) when that cannot be done safely."""
    if not isinstance(meta, dict) or meta.get("app") != "mapbrush":
        return image, None  # not a MapBrush PNG: nothing of ours to take off
    H, W = image.shape[:2]
    keep = "its labels and title stay in the reference"
    if meta.get("size") != [W, H]:
        return image, f"the reference image was resized since MapBrush wrote it: {keep}"
    if not made_from(meta, data):
        return image, f"the reference was made from other map files: {keep}"
    labels = meta.get("labels", True) is not False
    scale_bar = meta.get("scale_bar", True) is not False
    north_arrow = meta.get("north_arrow", True) is not False
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    if not (labels or scale_bar or north_arrow or title):
        return image, None
    try:
        mask = _overlay_mask(meta, data, (W, H), title, labels, scale_bar, north_arrow, user_styles_dir, cancel)
    except (InputError, ValueError, TypeError) as exc:
        reason = exc.message if isinstance(exc, InputError) else str(exc)
        return image, f"the reference's overlay could not be traced ({reason}): {keep}"
    return fill_holes(image, dilate(mask, max(1, round(min(W, H) / 1024 * 1.5)))), None


def made_from(meta: dict, data: MapData) -> bool:
    """Whether a PNG's metadata names exactly the map files `data` was read from (by content)."""
    theirs = sorted(str(i.get("sha256")) for i in meta.get("inputs") or [] if isinstance(i, dict))
    return theirs == sorted(s.sha256 for s in data.sources)


def _overlay_mask(meta, data, size, title, labels, scale_bar, north_arrow, user_styles_dir, cancel) -> np.ndarray:
    """Trace the overlay the way it was drawn: the request the PNG's metadata describes, at its size."""
    from app.jobs.render import RenderRequest, overlay_mask

    kinds = meta.get("kinds")
    req = RenderRequest(
        inputs=[],
        style=str(meta.get("style")),
        size=size,
        title=title or "",  # the title it was drawn with; none → none
        subtitle=meta.get("subtitle") or "",  # the subtitle it was drawn with (metadata records it); none → none
        margin=float(meta.get("margin", 0.06)),
        rotation=float(meta.get("rotation", 0.0)),
        kinds=frozenset(Kind(k) for k in kinds) if isinstance(kinds, list) else None,
        labels=labels,
        scale_bar=scale_bar,
        north_arrow=north_arrow,
        user_styles_dir=user_styles_dir,
    )
    return overlay_mask(req, data, cancel=cancel)


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Grow a bool mask by r pixels (a square neighbourhood)."""
    out = mask.copy()
    for _ in range(r):  # rows, then columns: a (2r+1)² square
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        out = grown
    for _ in range(r):
        grown = out.copy()
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def fill_holes(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the `mask` pixels of an HxWx3 uint8 image from their surroundings (push-pull); others stay exact."""
    from app.styles.filters import downsample, upsample

    if not mask.any():
        return image.copy()
    weight = (~mask).astype(F32)
    if not weight.any():
        return np.full_like(image, 128)
    channels = [image[..., c].astype(F32) * weight for c in range(3)]  # premultiplied by weight
    levels = [(channels, weight)]
    while min(weight.shape) > 2 and weight.min() < 1.0:
        total = downsample(weight, 2) * 4.0
        color = [downsample(ch, 2) * 4.0 / np.maximum(total, 1e-6) for ch in channels]
        weight = np.minimum(total, 1.0)
        channels = [c * weight for c in color]
        levels.append((channels, weight))
    channels, weight = levels[-1]
    filled = [c / np.maximum(weight, 1e-6) for c in channels]
    if weight.min() == 0:  # holes even at the coarsest level: the mean colour of what is known
        known = weight > 0
        filled = [np.where(known, f, f[known].mean()) for f in filled]
    for channels, weight in reversed(levels[:-1]):
        h, w = weight.shape
        filled = [ch + (1.0 - weight) * upsample(f, h, w) for ch, f in zip(channels, filled, strict=True)]
    out = image.copy()
    patch = np.clip(np.stack(filled, axis=-1) + 0.5, 0, 255).astype(np.uint8)
    out[mask] = patch[mask]
    return out
