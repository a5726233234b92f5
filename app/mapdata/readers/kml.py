"""KML and KMZ. GDAL's LIBKML driver reads the placemarks (every Folder/Document, nested too, is a layer; we read
them all); kml_overlays reads the rest itself: GroundOverlay images and NetworkLinks to local files."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

import numpy as np
import shapely

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.kml_overlays import find_overlays
from app.mapdata.readers.kml_package import Package
from app.mapdata.readers.ogr import read_all_layers
from app.mapdata.safety import extract_member, open_zip

# LIBKML bookkeeping columns that say nothing about the feature.
_NOISE = {"tessellate", "extrude", "visibility", "drawOrder", "altitudeMode", "icon", "id", "begin", "end", "timestamp"}


def _drop_overlay_boxes(raw: RawFeatures, keys: list[tuple[str, tuple]]) -> RawFeatures:
    """GDAL turns each GroundOverlay into a polygon of its box; the box is not a feature (the image is drawn,
    or not, as a raster). Drop the polygons matching a GroundOverlay's name and bounds, and the geometry-less
    features of Model placemarks (already named in a warning)."""
    if not keys or not len(raw):
        return raw
    left = list(keys)
    types = shapely.get_type_id(raw.geometries)
    bounds = shapely.bounds(raw.geometries)
    keep = np.ones(len(raw), bool)
    for i in np.flatnonzero((types == int(shapely.GeometryType.POLYGON)) | (types < 0)):
        name = raw.props[i].get("Name") or ""
        for j, (kname, kbox) in enumerate(left):
            if kname != name or (kbox is None) != (types[i] < 0):
                continue
            if kbox is None or np.allclose(bounds[i], kbox, rtol=0, atol=1e-7):
                keep[i] = False
                del left[j]
                break
    idx = np.flatnonzero(keep)
    return RawFeatures(raw.geometries[idx], [raw.props[i] for i in idx], raw.crs)


def _read_placemarks(path, keys, *, limits, progress, cancel, shown, member: str) -> list[RawFeatures]:
    parts = []
    try:
        layers = read_all_layers(path, limits=limits, progress=progress, cancel=cancel, shown=shown)
    except InputError as e:  # GDAL's message may name our temporary copy: name the document instead
        raise InputError(e.message.replace(str(path), member), path=shown) from None
    for folder, raw in layers:
        raw = _drop_overlay_boxes(raw, keys)
        for p in raw.props:
            for key in _NOISE & p.keys():
                del p[key]
            p["folder"] = folder
        parts.append(raw)
    return parts


def _document_name(name: str | None, pkg: Package) -> str | None:
    """The root <Document><name>, unless it only names the file (Google Earth names a saved document "trip.kml"):
    then the data's other names title the map."""
    if not name:
        return None

    def stem(text: str) -> str:
        text = text.casefold()
        return text[:-4] if text.endswith((".kml", ".kmz")) else text

    return None if stem(name) in {stem(Path(str(pkg.shown)).name), stem(PurePosixPath(pkg.root).name)} else name


def _read(pkg: Package, local_path, *, limits, progress, cancel) -> RawFeatures:
    """Overlays and links first (our own parser: its errors name the user's file), then the placemarks of every
    document that has any, through GDAL. `local_path(name)` gives a document as a file GDAL can open."""
    found = find_overlays(pkg, limits)
    cancel.check()
    parts = []
    for name in found.placemark_docs:
        path = local_path(name)
        keys = found.overlay_keys.get(name, [])
        parts += _read_placemarks(path, keys, limits=limits, progress=progress, cancel=cancel, shown=pkg.shown,
                                  member=name)  # fmt: skip
    raw = RawFeatures.concat(parts)
    if len({p.crs for p in parts}) <= 1:
        raw.crs = None  # KML is always lon/lat
    raw.rasters = found.rasters
    raw.name = _document_name(found.document_name, pkg)  # a title (app.mapdata.titles): GDAL's folders drop it
    raw.warnings = found.warnings + raw.warnings
    # Placemarks without tags: a point is a place marker, a path is a route or track.
    raw.fallback = {"Point": Kind.POI, "LineString": Kind.TRACK}
    return raw


def read_kml(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    path = Path(path)
    pkg = Package(path, path.name, folder=path.parent)
    return _read(pkg, lambda name: path.parent / name, limits=limits, progress=progress, cancel=cancel)


def read_kmz(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    """The main KML of a KMZ: doc.kml if present, else the first .kml at the shallowest level."""
    with open_zip(path, limits) as zf, tempfile.TemporaryDirectory(prefix="mapbrush-kmz-") as tmp:
        kmls = [i for i in zf.infolist() if i.filename.lower().endswith(".kml") and not i.is_dir()]
        if not kmls:
            raise InputError("the KMZ archive holds no .kml document", path=path)
        kmls.sort(key=lambda i: (PurePosixPath(i.filename).name.lower() != "doc.kml", i.filename.count("/")))
        pkg = Package(path, kmls[0].filename.replace("\\", "/"), zf=zf)
        extracted: list[Path] = []

        def local_path(name: str) -> Path:
            dest = Path(tmp) / f"{len(extracted)}.kml"
            extract_member(zf, pkg.members[name], dest, limits, path)
            extracted.append(dest)
            cancel.check()
            return dest

        return _read(pkg, local_path, limits=limits, progress=progress, cancel=cancel)
