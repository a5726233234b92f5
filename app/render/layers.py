"""Layers: the rasterized scene every painter (procedural or AI) starts from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.mapdata.model import Kind


@dataclass
class RasterSpec:
    """Style-dependent rasterization choices. Widths are px at a 1024-px short side."""

    width_scale: float = 1.0  # multiplies every line width (poster: heavy roads)
    widths: dict[Kind, float] = field(default_factory=dict)  # per-kind override of the default width
    # Dashed kinds: (on, off) lengths in px at a 1024-px short side, e.g. {Kind.PATH: (3.0, 2.0)}.
    dashes: dict[Kind, tuple[float, float]] = field(default_factory=dict)
    point_radius: float = 3.0  # radius of POI / place discs, px at a 1024-px short side


@dataclass
class Layers:
    width: int
    height: int
    masks: dict[Kind, np.ndarray]  # per kind present: HxW uint8 anti-aliased coverage (255 = fully covered)
    structure: np.ndarray | None  # HxWx3 uint8: semantic colours + line art, the AI conditioning image; None: not
    # drawn (rasterize(structure=False): a procedural export, which never looks at it)
    lineart: np.ndarray  # HxW uint8: 255 where map edges/lines are (coastlines, shores, roads, outlines)
    # Data without map tags (semantic.BORDERED kinds: admin areas, census blocks, plain features):
    borders: dict[Kind, np.ndarray] = field(default_factory=dict)  # per kind: a line along every area's outline
    marks: dict[Kind, np.ndarray] = field(default_factory=dict)  # per kind with lines or points: their coverage
    tones: np.ndarray | None = None  # HxW uint8: 0 off their areas, else the area's tone class 1..n (neighbours differ)

    # The scene's pictures (KML GroundOverlays): HxWx4 uint8 premultiplied RGBA, or None (app/render/imagery.py).
    imagery: np.ndarray | None = None
    # Several tracks drawn apart (app/render/tracks.py): HxW uint8, 0 off the tracks, k on the k-th track of the
    # scene (from 1; the later on top where they cross); None with one track, or with too many to tell apart.
    track_ids: np.ndarray | None = None
    # The terrain under the map (app/render/relief.py: elevation, slopes, hillshade), or None: no relief asked for.
    relief: Any = None

    def mask(self, kind: Kind) -> np.ndarray:
        """Coverage for a kind; zeros when the kind is absent."""
        m = self.masks.get(kind)
        return m if m is not None else np.zeros((self.height, self.width), np.uint8)
