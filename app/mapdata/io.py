"""Any map file in, MapData (lon/lat, EPSG:4326) out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import shapely

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.classify import classify, feature_name
from app.mapdata.clean import clean_geometries
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind, MapData, SourceInfo
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.geojson import read_geojson
from app.mapdata.readers.gpx import read_gpx
from app.mapdata.readers.kml import read_kml, read_kmz
from app.mapdata.readers.ogr import read_fgb, read_gpkg
from app.mapdata.readers.osm import read_osm
from app.mapdata.readers.shapefile import read_shapefile
from app.mapdata.reproject import crs_label, to_lonlat
from app.mapdata.sniff import sniff

__all__ = ["read_file", "read_files", "sha256_of", "sniff"]

READERS: dict[str, Callable[..., RawFeatures]] = {
    "geojson": read_geojson,
    "gpx": read_gpx,
    "kml": read_kml,
    "kmz": read_kmz,
    "shapefile": read_shapefile,
    "osm-xml": read_osm,
    "osm-pbf": read_osm,
    "gpkg": read_gpkg,
    "fgb": read_fgb,
}
_GEOM_TYPES = np.array(["Point", "LineString", "LineString", "Polygon", "Point", "LineString", "Polygon", "Other"])


def sha256_of(path: Path, cancel: CancelToken = NEVER) -> str:
    """The file's sha256 (hex), read in 4 MiB chunks; `cancel` is checked between them."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            cancel.check()
            h.update(chunk)
    return h.hexdigest()


def _check_size(path: Path, limits: Limits) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the file ({e.strerror or e})", path=path) from None
    if size > limits.max_file_size:
        raise InputError(
            f"the file is too large ({size / 2**20:.0f} MiB; the limit is {limits.max_file_size / 2**20:.0f} MiB)",
            path=path,
        )


def _n(count: int) -> str:
    return f"{count} feature{'s' if count != 1 else ''}"


MAX_NAMED = 5  # dropped features named in a warning; the rest are counted
_ID_KEYS = ("id", "fid", "@id", "osm_id", "ID", "FID", "OBJECTID")


def _feature_label(props: dict, row: int) -> str:
    """'Atlantis' (feature 12): the feature's name and its id, or its position in the file (from 1)."""
    fid = next((props[k] for k in _ID_KEYS if props.get(k) not in (None, "")), None)
    ref = f"feature {fid}" if fid is not None else f"feature {row + 1}"
    name = feature_name(props)
    return f"'{name}' ({ref})" if name else ref


def _dropped_warning(path: Path, reasons: dict[int, str], props: list[dict], count: int) -> str:
    """world.shp: dropped 'Atlantis' (feature 12): longitude 200.5 out of range — up to MAX_NAMED named."""
    named = [f"{_feature_label(props[r], r)}: {why}" for r, why in list(reasons.items())[:MAX_NAMED]]
    if count == 1 and named:
        return f"{path.name}: dropped {named[0]}"
    more = count - len(named)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{path.name}: dropped {_n(count)} that cannot be drawn: " + "; ".join(named) + tail


def _to_mapdata(raw: RawFeatures, path: Path, fmt: str, crs: str, limits: Limits) -> MapData:
    try:
        cleaned = clean_geometries(raw.geometries, limits)
    except shapely.errors.GEOSException as e:
        raise InputError(f"the file holds geometry that cannot be repaired ({e})", path=path) from None
    rows = cleaned.index
    geoms = cleaned.geometries
    types = _GEOM_TYPES[np.clip(shapely.get_type_id(geoms), 0, 7)] if len(geoms) else []
    known = raw.kinds or [None] * len(raw)
    props = [raw.props[r] for r in rows.tolist()]
    kinds = [known[r] or classify(p, t) for r, p, t in zip(rows.tolist(), props, types)]
    if raw.fallback:
        kinds = [raw.fallback.get(t, k) if k is Kind.OTHER else k for k, t in zip(kinds, types)]
    names = [feature_name(p) for p in props]
    warnings = list(raw.warnings)
    if cleaned.invalid:
        warnings.append(_dropped_warning(path, cleaned.reasons, raw.props, cleaned.invalid))
    if cleaned.missing:
        warnings.append(f"skipped {_n(cleaned.missing)} without geometry")
    dropped = cleaned.invalid + cleaned.missing + raw.dropped
    if not len(geoms) and not raw.rasters:  # a KML of GroundOverlays only is a map too
        if cleaned.invalid:
            raise InputError(
                "no features with valid lon/lat coordinates (the data may be in a projected coordinate system "
                "without a .prj file)",
                path=path,
            )
        raise InputError("no map features found", path=path)
    source = SourceInfo(str(path), fmt, "", crs, features=len(geoms), dropped=dropped, name=raw.name)
    data = MapData.from_lists(geoms, kinds, names, props, sources=[source], warnings=warnings)
    data.extent = raw.extent
    data.rasters = list(raw.rasters)
    return data


def read_file(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> MapData:
    """Read one map file of any supported format into MapData (lon/lat). Bad input → InputError naming the file."""
    path = Path(path)
    _check_size(path, limits)
    fmt = sniff(path)
    cancel.check()
    progress("read", 0, 1, f"reading {path.name}")
    raw = READERS[fmt](path, limits=limits, progress=progress, cancel=cancel)
    cancel.check()
    crs = crs_label(raw.crs)
    raw = to_lonlat(raw, path)
    data = _to_mapdata(raw, path, fmt, crs, limits)
    data.sources[0].sha256 = sha256_of(path, cancel)
    progress("read", 1, 1, f"{len(data):,} features from {path.name}")
    return data


def read_files(paths: Sequence, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> MapData:
    """Read several files and layer them in the given order (later files draw on top within a kind)."""
    if not paths:
        raise InputError("no input files given")
    parts = []
    for path in paths:
        cancel.check()
        parts.append(read_file(path, limits=limits, progress=progress, cancel=cancel))
    return MapData.merge(parts)
