"""GeoJSON (FeatureCollection, Feature or bare geometry) through GDAL's GeoJSON driver."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyogrio

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.classify import NAME_KEYS, TAG_KEYS
from app.mapdata.limits import DEFAULT_LIMITS, Limits, MiB
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import OGR_ERRORS, read_layer

_NAME_HEAD = 64 * 1024  # bytes read for the document's "name": writers put it before "features"
_OPEN = {"ARRAY_AS_STRING": "YES"}  # arrays reach us as JSON text (pyogrio cannot read lists of booleans)
# Under this size a file holds too few features × keys to be slow: no schema pass first (GDAL's read_info, about
# 15 ms a MB, linear in the file).
SCHEMA_CHECK_BYTES = 64 * 1024
# With more columns than Limits.max_fields, the columns still read: those that name, classify or rank features
# (label placement reads population and rank columns), at most MAX_KEPT of them.
KEPT_KEYS = TAG_KEYS | set(NAME_KEYS) | {"population", "pop_est", "pop_max", "scalerank", "labelrank", "capital"}
KEPT_KEYS |= {"name_short", "abbrev", "brk_name", "man_made", "healthcare", "emergency", "sport", "craft", "office"}
MAX_KEPT = 100
MAX_SPARSE_BYTES = 256 * MiB  # a file of too many columns is parsed in Python to drop them: ~10× its size in memory


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


def _field_names(path) -> list[str]:
    """The attribute columns GDAL makes of the file (its schema pass); [] when GDAL cannot open it (the read
    that follows says why)."""
    try:
        return [str(f) for f in pyogrio.read_info(str(path), **_OPEN)["fields"]]
    except OGR_ERRORS:
        return []


def _without_extra_columns(path, fields: list[str], limits: Limits) -> tuple[bytes, str]:
    """The document with only the kept columns in its features' properties, as bytes for GDAL, and the warning.

    GDAL's GeoJSON driver gives every feature a slot for every column, so reading a file whose features each have
    their own keys costs features × columns; parsing it here and dropping the extra keys is linear."""
    size = os.path.getsize(path)
    if size > MAX_SPARSE_BYTES:
        raise InputError(f"the file has {len(fields):,} attribute columns (more than {limits.max_fields:,}), too many "
                         f"to read in a file over {MAX_SPARSE_BYTES // MiB} MB", path=path)  # fmt: skip
    kept = {f for f in fields if f.lower() in KEPT_KEYS or f.lower().startswith("name")}
    kept = set(sorted(kept, key=fields.index)[:MAX_KEPT])
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            doc = json.load(f)
    except (ValueError, RecursionError) as e:
        raise InputError(f"the file is not valid JSON ({str(e)[:80]})", path=path) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    for feature in features if isinstance(features, list) else [doc]:
        props = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(props, dict):
            feature["properties"] = {k: v for k, v in props.items() if k in kept}
    text = json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8")
    warning = (f"{Path(path).name}: {len(fields):,} attribute columns, more than {limits.max_fields:,}: read only the "
               f"{len(kept)} that name or classify features; the extra attribute columns were ignored")  # fmt: skip
    return text, warning


def read_geojson(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    cancel.check()
    progress("read", 0, 1, "reading GeoJSON")
    source, warning = path, None
    if os.path.getsize(path) > SCHEMA_CHECK_BYTES:
        fields = _field_names(path)
        if len(fields) > limits.max_fields:
            source, warning = _without_extra_columns(path, fields, limits)
            cancel.check()
    raw = read_layer(source, limits=limits, count_first=False, open_options=_OPEN, shown=path)
    if warning:
        raw.warnings.append(warning)
    raw.name = _document_name(path)
    return raw
