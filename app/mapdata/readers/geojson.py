"""GeoJSON (FeatureCollection, Feature or bare geometry) through GDAL's GeoJSON driver."""

from __future__ import annotations

import json

from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import read_layer

_NAME_HEAD = 64 * 1024  # bytes read for the document's "name": writers put it before "features"


def _document_name(path) -> str | None:
    """The FeatureCollection's top-level "name" member (ogr2ogr and QGIS write one), read from the members
    before "features" at the file's head, so the features are not parsed twice; None when it is not there."""
    try:
        with open(path, "rb") as f:
            text = f.read(_NAME_HEAD).decode("utf-8-sig", "replace")
        dec, pos = json.JSONDecoder(), text.index("{") + 1
        while True:
            while text[pos] in " \t\r\n,":
                pos += 1
            key, pos = dec.raw_decode(text, pos)
            while text[pos] in " \t\r\n:":
                pos += 1
            if key == "features" or not isinstance(key, str):
                return None
            value, pos = dec.raw_decode(text, pos)
            if key == "name":
                return (value.strip() or None) if isinstance(value, str) else None
    except (OSError, ValueError, IndexError, RecursionError):  # not there, cut off at the head, or hostile
        return None


def read_geojson(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    cancel.check()
    progress("read", 0, 1, "reading GeoJSON")
    # ARRAY_AS_STRING: arrays reach us as JSON text, not as numpy list fields (pyogrio cannot read lists of booleans)
    raw = read_layer(path, limits=limits, count_first=False, open_options={"ARRAY_AS_STRING": "YES"})
    raw.name = _document_name(path)
    return raw
