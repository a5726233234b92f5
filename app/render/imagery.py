"""Imagery: the scene's pictures (KML GroundOverlays) drawn onto the canvas, and how the styles use them.

How a style treats a picture (the choice, in one place):
- The procedural painter lays it on the paper before the style's first effect (`lay_on_paper`), so every wash,
  hatch and fill of the vector data goes over it, and the paper texture over all. It is softened into the
  style rather than pasted: its colours are taken SOFTEN of the way to grey, then on light paper it is
  multiplied into the paper (the paper's tone shows through its highlights, like a print on that paper), on
  dark paper (blueprint, noir) screened onto it (its light parts glow, its dark parts are the paper); either
  way at IMAGERY_OPACITY.
- The structure image for the AI engines gets it at STRUCTURE_OPACITY over the semantic background, under the
  features' semantic colours: the model sees the picture's shapes, and the features stay what they are.
"""

from __future__ import annotations

import numpy as np
import skia

from app.carto.scene import Scene

F32 = np.float32
IMAGERY_OPACITY = 0.85
SOFTEN = 0.3  # how far the painter takes the pictures' colours towards grey
STRUCTURE_OPACITY = 0.75
DARK_PAPER = 0.35  # luminance under which paper counts as dark


def _vertices(mesh: np.ndarray, w: int, h: int) -> skia.Vertices:
    """Two triangles per mesh cell; texture coordinates are the image's own pixels."""
    g = mesh.shape[0] - 1
    t = np.linspace(0.0, 1.0, g + 1)
    tex = np.stack(np.meshgrid(t * w, t * h), axis=-1).reshape(-1, 2)
    pos = mesh.reshape(-1, 2)
    i = (np.arange(g)[:, None] * (g + 1) + np.arange(g)[None, :]).ravel()  # top-left corner of each cell
    tri = np.stack([i, i + 1, i + g + 1, i + 1, i + g + 2, i + g + 1], axis=1).ravel()
    return skia.Vertices(
        skia.Vertices.kTriangles_VertexMode,
        [skia.Point(float(x), float(y)) for x, y in pos],
        [skia.Point(float(x), float(y)) for x, y in tex],
        None,
        tri.astype(int).tolist(),
    )


def draw_imagery(scene: Scene) -> np.ndarray | None:
    """HxWx4 uint8 premultiplied RGBA of the scene's pictures, bottom first; None when it has none."""
    if not scene.rasters:
        return None
    width, height = scene.size
    out = np.zeros((height, width, 4), np.uint8)
    surface = skia.Surface(out, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
    canvas = surface.getCanvas()
    sampling = skia.SamplingOptions(skia.FilterMode.kLinear, skia.MipmapMode.kLinear)
    for r in scene.rasters:
        h, w = r.image.shape[:2]
        image = skia.Image.fromarray(
            np.ascontiguousarray(r.image), colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType
        ).withDefaultMipmaps()
        shader = image.makeShader(skia.TileMode.kClamp, skia.TileMode.kClamp, sampling)
        paint = skia.Paint(AntiAlias=True, Shader=shader)  # not setShader(): in skia-python it costs ms a call
        canvas.drawVertices(_vertices(r.mesh, w, h), paint)
    del surface, canvas
    return out if out[..., 3].any() else None


def _split(imagery: np.ndarray, opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """(premultiplied colour × opacity as HxWx3 float32 0..1, alpha × opacity as HxWx1)."""
    k = F32(opacity / 255.0)
    return imagery[..., :3].astype(F32) * k, imagery[..., 3:4].astype(F32) * k


def lay_on_paper(rgb: np.ndarray, imagery: np.ndarray, opacity: float = IMAGERY_OPACITY) -> None:
    """Soften the pictures into the paper in place (HxWx3 float32 0..1): multiply on light paper, screen on
    dark paper (module docstring)."""
    colour, alpha = _split(imagery, opacity)
    grey = colour @ np.array([0.299, 0.587, 0.114], F32)
    colour *= F32(1 - SOFTEN)
    colour += (F32(SOFTEN) * grey)[..., None]
    paper_lum = float(rgb.reshape(-1, 3).mean(axis=0) @ np.array([0.299, 0.587, 0.114]))
    if paper_lum >= DARK_PAPER:
        rgb *= F32(1) - alpha + colour  # paper · lerp(1, image, a)
    else:
        rgb += colour * (F32(1) - rgb)  # screen: paper + a·image·(1 − paper)


def over_structure(structure: np.ndarray, imagery: np.ndarray, opacity: float = STRUCTURE_OPACITY) -> None:
    """Lay the pictures over an HxWx3 uint8 (or HxWx4) image in place, at `opacity` (normal blending)."""
    colour, alpha = _split(imagery, opacity)
    base = structure[..., :3].astype(F32) * F32(1 / 255)
    base *= F32(1) - alpha
    base += colour
    structure[..., :3] = np.clip(base * F32(255) + F32(0.5), 0, 255).astype(np.uint8)
