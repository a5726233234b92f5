"""GeoJSON (FeatureCollection, Feature or bare geometry) through GDAL's GeoJSON driver."""

from __future__ import annotations

from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import read_layer


def read_geojson(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    cancel.check()
    progress("read", 0, 1, "reading GeoJSON")
    # ARRAY_AS_STRING: arrays reach us as JSON text, not as numpy list fields (pyogrio cannot read lists of booleans)
    return read_layer(path, limits=limits, count_first=False, open_options={"ARRAY_AS_STRING": "YES"})
