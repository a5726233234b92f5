"""ESRI Shapefile: a .shp with its sidecars, or a .zip holding one or more; the .prj is honoured."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

import pyogrio

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.readers import RawFeatures
from app.mapdata.readers.ogr import OGR_ERRORS, _gdal_problem, read_layer
from app.mapdata.readers.shapefile_check import check_shapefile, find_sidecar
from app.mapdata.reproject import to_lonlat
from app.mapdata.safety import extract_member, open_zip

SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.symlink(src.resolve(), dest)
    except OSError:  # no symlinks here (Windows without the privilege): copy instead
        shutil.copyfile(src, dest)


def _read_without_index(shp: Path, *, limits: Limits, shown, budget: int, name: str) -> RawFeatures:
    """A .shp whose .shx is missing: GDAL rebuilds the index (SHAPE_RESTORE_SHX) in a temporary folder of ours,
    never beside the person's file."""
    with tempfile.TemporaryDirectory(prefix="mapbrush-shx-") as tmp:
        copy = Path(tmp) / "layer.shp"
        for ext in SIDECARS:
            if ext != ".shx" and (src := find_sidecar(shp, ext)) is not None:
                _link_or_copy(src, copy.with_suffix(ext))
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": True})
        try:
            pyogrio.read_info(str(copy))  # opening the layer writes layer.shx next to the copy
        except OGR_ERRORS as e:
            problem = f"the .shx index file is missing and could not be rebuilt ({_gdal_problem(e)})"
            raise InputError(problem, path=shown) from None
        if find_sidecar(copy, ".shx") is None:
            raise InputError("the .shx index file is missing and could not be rebuilt", path=shown)
        raw = _read_shp(copy, limits=limits, shown=shown, budget=budget, name=name)
    raw.warnings.append(f"{name}: its .shx index file is missing; rebuilt it from the .shp")
    return raw


def _read_shp(shp: Path, *, limits: Limits, shown, budget: int, name: str | None = None) -> RawFeatures:
    name = name or shp.name
    if find_sidecar(shp, ".shx") is None:
        return _read_without_index(shp, limits=limits, shown=shown, budget=budget, name=name)
    check_shapefile(shp, shown)
    raw = read_layer(shp, limits=limits, shown=shown, budget=budget)
    has_prj = shp.with_suffix(".prj").exists() or shp.with_suffix(".PRJ").exists()
    if raw.crs is None:
        problem = "its .prj file is not understood" if has_prj else "no .prj file"
        raw.warnings.append(f"{name}: {problem}; assuming lon/lat (EPSG:4326)")
    return raw


def _read_many(shps: list[tuple[Path, str]], *, limits, progress, cancel, shown) -> RawFeatures:
    """Each (file, name shown in warnings) in turn, reprojected to lon/lat when their CRSs differ."""
    parts, total = [], 0
    for i, (shp, name) in enumerate(shps):
        cancel.check()
        progress("read", i, len(shps), name)
        raw = _read_shp(shp, limits=limits, shown=shown, budget=limits.max_features - total, name=name)
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
        return _read_many([(path, path.name)], limits=limits, progress=progress, cancel=cancel, shown=path)
    with open_zip(path, limits) as zf, tempfile.TemporaryDirectory(prefix="mapbrush-shp-") as tmp:
        # Group members by folder and stem; extract each group under a name we choose.
        groups: dict[tuple[str, str], dict[str, object]] = defaultdict(dict)
        names: dict[tuple[str, str], str] = {}
        for info in zf.infolist():
            member = PurePosixPath(info.filename.replace("\\", "/"))
            ext = member.suffix.lower()
            if ext in SIDECARS and not info.is_dir() and not member.name.startswith("._"):
                groups[(str(member.parent), member.stem.lower())][ext] = info
                names[(str(member.parent), member.stem.lower())] = member.stem
        shps = []
        for n, (key, members) in enumerate(groups.items()):
            if ".shp" not in members:
                continue
            for ext, info in members.items():
                extract_member(zf, info, Path(tmp) / f"layer{n}{ext}", limits, path)
            shps.append((Path(tmp) / f"layer{n}.shp", f"{names[key]}.shp"))
        if not shps:
            raise InputError("the zip archive holds no shapefile (.shp)", path=path)
        return _read_many(shps, limits=limits, progress=progress, cancel=cancel, shown=path)
