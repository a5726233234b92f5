"""Repaint a region (issue 16): the mask, its feathered edge, and the blend back into the picture.

A mask is white where the picture is repainted, at any size: it is scaled to the picture (and the AI
stage samples it to its own resolution). The repainted pixels are blended in with a feathered edge:
inside the mask the new painting, then a linear ramp `feather` pixels wide outside it, and beyond that
the picture exactly as it was. `app/jobs/render.repaint` chains it: mask → AI stage → blend → overlay.
No torch here; PIL and numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.jobs.reference import dilate

ASPECT_TOLERANCE = 0.02  # a mask whose shape differs more than this from the picture's is stretched, with a warning


@dataclass
class Repaint:
    """What to repaint: a picture (HxWx3 uint8) and where (HxW, any size; True/white = repaint)."""

    image: np.ndarray  # the stage's picture without the overlay, or a finished PNG (then give `metadata`)
    mask: np.ndarray
    stage: str = "preview"  # the engine that repaints: "preview" (Z-Image) or "final" (FLUX.2 Klein)
    finished: np.ndarray | None = None  # the picture as shown (overlay drawn): kept exactly outside the feather
    metadata: dict | None = None  # `image`'s mapbrush metadata when it is a finished MapBrush PNG (overlay taken off)
    feather: int | None = None  # pixels; None → about 1% of the picture's short side
    source: dict | None = None  # the base picture's name and sha256, for the metadata
    warnings: list[str] = field(default_factory=list)


def feather_for(size: tuple[int, int]) -> int:
    """The default feather: about 1% of the short side, at least 2 pixels (an even number)."""
    return max(2, round(min(size) / 200) * 2)


def load_mask(path: Path) -> np.ndarray:
    """HxW bool from an image file: white (light) is repainted. A transparent pixel is black (kept).
    One-line errors for a missing, unreadable or blank mask."""
    from PIL import Image, UnidentifiedImageError

    from app.export.png import open_image

    path = Path(path)
    if not path.exists():
        raise InputError("the repaint mask does not exist", path=path)
    if not path.is_file():
        raise InputError("the repaint mask is not a file", path=path)
    try:
        with open_image(path) as img:  # a PNG mask of a print (up to 16384² px) opens past Pillow's bomb limit
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                img = Image.alpha_composite(black, rgba)
            grey = np.asarray(img.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        why = "not an image" if isinstance(exc, UnidentifiedImageError) else f"unreadable ({exc})"
        raise InputError(f"the repaint mask is {why}", path=path) from None
    mask = grey >= 128
    if not mask.any():
        raise InputError("the repaint mask is blank (no white pixels): nothing to repaint; paint white where the "
                         "picture should change", path=path)  # fmt: skip
    return mask


def scale_mask(mask: np.ndarray, size: tuple[int, int], *, warnings: list[str] | None = None) -> np.ndarray:
    """The mask (HxW, bool or 0..1) at the picture's (width, height): each axis scaled on its own, so a mask drawn
    on a copy of the picture at any size covers the same part of it. A mask of another shape is stretched (a
    warning in `warnings` says so)."""
    from PIL import Image

    w, h = size
    m = np.asarray(mask)
    m = m if m.dtype == bool else m > 0.5
    mh, mw = m.shape[:2]
    if (mw, mh) == (w, h):
        return m.copy()
    if warnings is not None and abs((mw / mh) / (w / h) - 1.0) > ASPECT_TOLERANCE:
        warnings.append(f"the repaint mask is {mw}x{mh}, not the picture's shape ({w}x{h}): it was stretched to fit")
    img = Image.fromarray(m.astype(np.uint8) * 255, "L").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(img) >= 128


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """HxW float32 weight of the repainted pixels: 1 on the mask, ramping to 0 over `feather` pixels outside it,
    exactly 0 beyond (the mask grown by feather/2, then a box blur of radius feather/2)."""
    from PIL import Image, ImageFilter

    mask = np.asarray(mask, bool)
    if feather <= 0:
        return mask.astype(np.float32)
    r = max(1, feather // 2)
    grown = dilate(mask, r)
    soft = Image.fromarray(grown.astype(np.uint8) * 255, "L").filter(ImageFilter.BoxBlur(r))
    alpha = np.asarray(soft, np.float32) / 255.0
    alpha[mask] = 1.0
    alpha[~dilate(grown, r)] = 0.0  # nothing past the feather, whatever the blur's rounding
    return alpha


def blend(base: np.ndarray, painted: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`painted` over `base` with weight `alpha` (HxW); where alpha is 0 the pixel is `base`'s exactly."""
    a = alpha[..., None]
    out = base.astype(np.float32) * (1.0 - a) + painted.astype(np.float32) * a
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    keep = alpha <= 0.0
    out[keep] = base[keep]
    return out


def mask_share(mask: np.ndarray) -> float:
    return float(np.asarray(mask, bool).mean())


def mask_sha256(mask: np.ndarray) -> str:
    import hashlib

    m = np.asarray(mask, bool)
    return hashlib.sha256(np.packbits(m).tobytes() + repr(m.shape).encode()).hexdigest()


def request_from_metadata(meta: dict, inputs: list[Path], size: tuple[int, int], *, user_styles_dir=None):
    """The RenderRequest a MapBrush PNG's `mapbrush` metadata describes, for its map files `inputs`, at `size`
    (the picture's own): style, framing, layers, title and subtitle as asked for, seed; the repaint's AI options are
    the caller's."""
    from app.jobs.render import RenderRequest
    from app.mapdata.model import Kind

    kinds = meta.get("kinds")
    try:
        kinds = frozenset(Kind(k) for k in kinds) if isinstance(kinds, list) else None
    except ValueError:
        kinds = None  # a layer this version does not know: draw them all

    def text(key: str) -> str | None:
        mode, value = meta.get(f"{key}_mode"), meta.get(key)
        if mode == "default":
            return None
        if mode == "none":
            return ""
        return value if isinstance(value, str) else ""  # custom, or an older PNG: what was drawn

    def number(key: str, default: float) -> float:
        value = meta.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    frame = meta.get("frame")
    return RenderRequest(
        inputs=list(inputs),
        style=str(meta.get("style") or "watercolor"),
        size=(int(size[0]), int(size[1])),
        title=text("title"),
        subtitle=text("subtitle"),
        seed=meta["seed"] if isinstance(meta.get("seed"), int) else None,
        margin=number("margin", 0.06),
        rotation=number("rotation", 0.0),
        dpi=meta["dpi"] if isinstance(meta.get("dpi"), int | float) else None,
        kinds=kinds,
        labels=meta.get("labels", True) is not False,
        imagery=meta.get("imagery", True) is not False,
        scale_bar=meta.get("scale_bar", True) is not False,
        north_arrow=meta.get("north_arrow", True) is not False,
        profile=meta.get("profile", True) is not False,
        frame=frame if isinstance(frame, int) and frame > 0 else None,
        terrain="relief" in meta,
        user_styles_dir=user_styles_dir,
    )
