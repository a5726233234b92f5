"""ESRI Shapefile: a .shp with its sidecars, or a .zip holding one or more; the .prj is honoured."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import read_layer
from app.mapdata.readers.shapefile_check import check_shapefile
from app.mapdata.reproject import to_lonlat
from app.mapdata.safety import extract_member, open_zip

SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _read_shp(shp: Path, *, limits: Limits, shown, budget: int) -> RawFeatures:
    check_shapefile(shp, shown)
    raw = read_layer(shp, limits=limits, shown=shown, budget=budget)
    has_prj = shp.with_suffix(".prj").exists() or shp.with_suffix(".PRJ").exists()
    if raw.crs is None:
        problem = "its .prj file is not understood" if has_prj else "no .prj file"
        raw.warnings.append(f"{shp.name}: {problem}; assuming lon/lat (EPSG:4326)")
    return raw


def _read_many(shps: list[Path], *, limits, progress, cancel, shown) -> RawFeatures:
    parts, total = [], 0
    for i, shp in enumerate(shps):
        cancel.check()
        progress("read", i, len(shps), shp.name)
        raw = _read_shp(shp, limits=limits, shown=shown, budget=limits.max_features - total)
        total += len(raw)
        parts.append(raw)
    if len({p.crs for p in parts}) > 1:
        parts = [to_lonlat(p, shown) for p in parts]
    return RawFeatures.concat(parts)


def read_shapefile(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    path = Path(path)
    with open(path, "rb") as f:
        is_zip = f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    if not is_zip:
        return _read_many([path], limits=limits, progress=progress, cancel=cancel, shown=path)
    with open_zip(path, limits) as zf, tempfile.TemporaryDirectory(prefix="mapbrush-shp-") as tmp:
        # Group members by folder and stem; extract each group under a name we choose.
        groups: dict[tuple[str, str], dict[str, object]] = defaultdict(dict)
        for info in zf.infolist():
            member = PurePosixPath(info.filename.replace("\\", "/"))
            ext = member.suffix.lower()
            if ext in SIDECARS and not info.is_dir() and not member.name.startswith("._"):
                groups[(str(member.parent), member.stem.lower())][ext] = info
        shps = []
        for n, members in enumerate(groups.values()):
            if ".shp" not in members:
                continue
            for ext, info in members.items():
                extract_member(zf, info, Path(tmp) / f"layer{n}{ext}", limits, path)
            shps.append(Path(tmp) / f"layer{n}.shp")
        if not shps:
            raise InputError("the zip archive holds no shapefile (.shp)", path=path)
        return _read_many(shps, limits=limits, progress=progress, cancel=cancel, shown=path)
