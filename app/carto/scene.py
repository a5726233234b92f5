"""Scene: the map laid out on the canvas, geometries in pixel coordinates (y down)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.mapdata.model import Kind


@dataclass(frozen=True)
class Frame:
    """How the world maps onto the canvas."""

    width: int
    height: int
    margin: int  # px kept free around the map (the overlay may use it)
    rotation: float  # degrees, clockwise; 0 = north up
    crs: str  # the projected CRS used (PROJ string or EPSG code)
    meters_per_px: float  # ground metres per pixel at the centre (for the scale bar)
    # Projected metres (x, y) → pixel (col, row): col = a*x + b*y + c ; row = d*x + e*y + f
    affine: tuple[float, float, float, float, float, float]
    lonlat_bounds: tuple[float, float, float, float]  # what the canvas shows (lon/lat)


@dataclass
class PlacedRaster:
    """A picture on the canvas: its image and where a grid over it lands (app/carto/rasters.py)."""

    image: np.ndarray  # HxWx4 uint8 RGBA, straight alpha
    mesh: np.ndarray  # (G+1, G+1, 2) pixel (col, row) of image point (i/G·W, j/G·H) at mesh[j, i]


@dataclass
class Scene:
    frame: Frame
    geometries: np.ndarray  # object array of shapely geometries in pixel coordinates
    kinds: np.ndarray  # object array of Kind
    names: np.ndarray  # object array of str | None
    props: list[dict] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    rasters: list[PlacedRaster] = field(default_factory=list)  # pictures under the features, bottom first
    extent: object | None = None  # shapely polygon in pixels: where the data is (its framed window); None = all
    attribution: list[str] = field(default_factory=list)  # credit lines owed to the data's sources (carto/attribution)

    @property
    def size(self) -> tuple[int, int]:
        return self.frame.width, self.frame.height

    def of_kind(self, kind: Kind) -> np.ndarray:
        """Indices of the features of one kind, in drawing order."""
        return np.flatnonzero([k is kind for k in self.kinds])
