"""One reader per format. Each returns RawFeatures; app.mapdata.io turns them into MapData."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.mapdata.model import Kind, Raster


@dataclass
class RawFeatures:
    """What a reader found, before clean-up, reprojection and classification."""

    geometries: np.ndarray  # object array of shapely geometries (None allowed), in `crs`
    props: list[dict]
    crs: str | None = None  # None: already lon/lat (EPSG:4326)
    kinds: list[Kind | None] | None = None  # kinds the reader already knows; None entries get classified
    extent: tuple[float, float, float, float] | None = None  # declared area (lon/lat), e.g. OSM bounds
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0  # features the reader itself could not build
    # Kind for features that classify as OTHER, by geometry class ("Point", "LineString", "Polygon").
    fallback: dict[str, Kind] | None = None
    rasters: list[Raster] = field(default_factory=list)  # georeferenced pictures (KML GroundOverlays)
    name: str | None = None  # the document's own name (GPX <metadata><name>, a GeoJSON top-level "name")

    def __len__(self) -> int:
        return len(self.geometries)

    @staticmethod
    def concat(parts: list[RawFeatures]) -> RawFeatures:
        parts = [p for p in parts if len(p)] or parts[:1]
        if not parts:
            return RawFeatures(np.empty(0, object), [])
        crs = {p.crs for p in parts}
        if len(crs) > 1:
            raise ValueError("RawFeatures.concat needs one CRS")
        kinds = None
        if any(p.kinds is not None for p in parts):
            kinds = [k for p in parts for k in (p.kinds or [None] * len(p))]
        return RawFeatures(
            np.concatenate([p.geometries for p in parts]),
            [d for p in parts for d in p.props],
            parts[0].crs,
            kinds,
            parts[0].extent,
            [w for p in parts for w in p.warnings],
            sum(p.dropped for p in parts),
            rasters=[r for p in parts for r in p.rasters],
            name=next((p.name for p in parts if p.name), None),
        )
