"""Is the data in the picture? Render a map, render the same framing and seed with some of its data
hidden, and measure how much the data's own pixels changed.

    assert_visible([path], "ink", hide_kinds={Kind.OTHER})

The hidden render keeps the first render's extent, so the framing is the same (checked, not assumed).
Overlay (title, labels, scale bar, north arrow) is off unless asked for, so what is measured is the
painting of the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from app.jobs.render import RenderRequest, RenderResult, load, render
from app.mapdata.model import Kind, MapData

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class Visibility:
    shown: RenderResult
    hidden: RenderResult
    inside: np.ndarray  # HxW bool: the hidden features' pixels (their coverage ≥ 50 %)
    mean_diff: float  # mean absolute difference (0..255, over RGB) inside
    changed: float  # fraction of the pixels inside that changed by more than 8 levels


def render_with_and_without(
    inputs: list[Path],
    style: str,
    *,
    hide_kinds: set[Kind] | None = None,
    size: tuple[int, int] = (480, 360),
    seed: int = 7,
    overlay: bool = False,
    user_styles_dir: Path | None = None,
) -> Visibility:
    """Render `inputs`, then the same framing with the features of `hide_kinds` (default: all) removed."""
    data = load(list(inputs))
    hide = set(data.kinds) if hide_kinds is None else set(hide_kinds)
    extra = {} if overlay else {"title": "", "labels": False, "scale_bar": False, "north_arrow": False}
    req = RenderRequest(list(inputs), style=style, size=size, seed=seed, user_styles_dir=user_styles_dir, **extra)
    shown = render(req, data=data)
    hidden = render(req, data=_without(data, hide))
    assert hidden.scene.frame == shown.scene.frame, "hiding the data changed the framing"
    masks = [shown.layers.masks[k] for k in hide if k in shown.layers.masks]
    assert masks, f"none of {sorted(k.value for k in hide)} reached the canvas"
    inside = np.maximum.reduce(masks) >= 128
    diff = np.abs(shown.image.astype(np.int16) - hidden.image.astype(np.int16)).mean(axis=2)
    return Visibility(shown, hidden, inside, float(diff[inside].mean()), float((diff[inside] > 8).mean()))


def assert_visible(
    inputs: list[Path],
    style: str,
    *,
    hide_kinds: set[Kind] | None = None,
    size: tuple[int, int] = (480, 360),
    threshold: float = 10.0,
    changed: float = 0.5,
    seed: int = 7,
    overlay: bool = False,
    user_styles_dir: Path | None = None,
) -> Visibility:
    """The hidden kinds' pixels differ by more than `threshold` on average, and more than `changed` of
    them by a noticeable amount, between the render with and without them."""
    v = render_with_and_without(
        inputs, style, hide_kinds=hide_kinds, size=size, seed=seed, overlay=overlay, user_styles_dir=user_styles_dir
    )
    what = f"{', '.join(Path(p).name for p in inputs)} in {style!r}"
    assert v.mean_diff > threshold, f"{what}: data pixels differ by {v.mean_diff:.1f} on average (≤ {threshold})"
    assert v.changed > changed, f"{what}: only {v.changed:.0%} of the data's pixels changed (≤ {changed:.0%})"
    return v


def _without(data: MapData, hide: set[Kind]) -> MapData:
    """`data` less the hidden kinds, framed the same. An unnamed place node (never painted) stands in
    when nothing is left, since a map with no features at all is refused."""
    kept = data.select(np.array([k not in hide for k in data.kinds], bool))
    kept.extent = data.frame_bounds()
    if len(kept) == 0:
        x0, y0, x1, y1 = kept.extent
        stand_in = MapData.from_lists([shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)], [Kind.PLACE], [None])
        kept = MapData.merge([kept, stand_in])
        kept.extent = data.frame_bounds()
    return kept


def border_contrast(result: RenderResult, kinds: set[Kind], *, step: float = 3.0, side: float = 4.0) -> np.ndarray:
    """Luminance contrast (0..255) of the line between adjacent areas of `kinds`, at points every `step` px
    along their shared edges: how far the darkest-or-lightest pixel across the edge stands out from the
    mean of the two sides `side` px away."""
    sc = result.scene
    idx = [i for i, k in enumerate(sc.kinds) if k in kinds and shapely.get_dimensions(sc.geometries[i]) == 2]
    polys = sc.geometries[idx]
    lum = result.image.astype(np.float32) @ LUMA
    h, w = lum.shape
    tree = shapely.STRtree(polys)
    out = []
    for a, b in tree.query(polys, predicate="intersects").T:
        if a >= b:
            continue
        # The part of a's outline along b (simplified per feature, so shared edges match only to ~1 px).
        shared = shapely.line_merge(shapely.intersection(polys[a].boundary, polys[b].buffer(0.75)))
        for line in shapely.get_parts(shared):
            if line.geom_type != "LineString" or line.length < 4 * step:
                continue
            for t in np.arange(2 * step, line.length - 2 * step, step):
                p, q = np.array(line.interpolate(t).coords[0]), np.array(line.interpolate(t + 0.5).coords[0])
                n = np.array([-(q - p)[1], (q - p)[0]]) / max(np.hypot(*(q - p)), 1e-9)

                def at(o: float, p=p, n=n) -> float:
                    x, y = np.clip(np.round(p + o * n), 0, [w - 1, h - 1]).astype(int)
                    return float(lum[y, x])

                base = (at(side) + at(-side)) / 2
                out.append(max(abs(at(o) - base) for o in (-1.0, -0.5, 0.0, 0.5, 1.0)))
    return np.array(out, np.float32)
