"""KML and KMZ through GDAL's LIBKML driver: every Folder/Document (nested too) is a layer; we read them all."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import read_all_layers
from app.mapdata.safety import check_xml_file, extract_member, open_zip

# LIBKML bookkeeping columns that say nothing about the feature.
_NOISE = {"tessellate", "extrude", "visibility", "drawOrder", "altitudeMode", "icon", "id", "begin", "end", "timestamp"}


def _read_kml(path, *, limits, progress, cancel, shown) -> RawFeatures:
    check_xml_file(path, shown=shown)
    parts = []
    for folder, raw in read_all_layers(path, limits=limits, progress=progress, cancel=cancel, shown=shown):
        for p in raw.props:
            for key in _NOISE & p.keys():
                del p[key]
            p["folder"] = folder
        parts.append(raw)
    raw = RawFeatures.concat(parts)
    if len({p.crs for p in parts}) <= 1:
        raw.crs = None  # KML is always lon/lat
    # Placemarks without tags: a point is a place marker, a path is a route or track.
    raw.fallback = {"Point": Kind.POI, "LineString": Kind.TRACK}
    return raw


def read_kml(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    return _read_kml(path, limits=limits, progress=progress, cancel=cancel, shown=path)


def read_kmz(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    """The main KML of a KMZ: doc.kml if present, else the first .kml at the shallowest level."""
    with open_zip(path, limits) as zf, tempfile.TemporaryDirectory(prefix="mapbrush-kmz-") as tmp:
        kmls = [i for i in zf.infolist() if i.filename.lower().endswith(".kml") and not i.is_dir()]
        if not kmls:
            raise InputError("the KMZ archive holds no .kml document", path=path)
        kmls.sort(key=lambda i: (PurePosixPath(i.filename).name.lower() != "doc.kml", i.filename.count("/")))
        dest = Path(tmp) / "doc.kml"
        extract_member(zf, kmls[0], dest, limits, path)
        cancel.check()
        return _read_kml(dest, limits=limits, progress=progress, cancel=cancel, shown=path)
