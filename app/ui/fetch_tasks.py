"""The window's network work, as plain functions `fn(request, *, progress, cancel)` (no Qt; run by ui/workers.py):
search a place (Nominatim), fetch the OpenStreetMap data of an area (Overpass) and read it like a dropped file,
copy a fetched file out of the cache."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.mapdata.model import MapData
from app.sources import SourceConfig
from app.ui.tasks import LoadedFile

M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
SEARCH_LIMIT = 8


def box_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """West, south, east, north of the square `radius_m` around a point (clamped to the globe)."""
    dlat = radius_m / M_PER_DEG
    dlon = radius_m / (M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return (max(lon - dlon, -180.0), max(lat - dlat, -90.0), min(lon + dlon, 180.0), min(lat + dlat, 90.0))


def grow_box(bounds, radius_m: float) -> tuple[float, float, float, float]:
    """`bounds` (west, south, east, north) grown by `radius_m` on every side."""
    w, s, e, n = bounds
    mid = (s + n) / 2
    dlat = radius_m / M_PER_DEG
    dlon = radius_m / (M_PER_DEG * max(math.cos(math.radians(mid)), 0.01))
    return (max(w - dlon, -180.0), max(s - dlat, -90.0), min(e + dlon, 180.0), min(n + dlat, 90.0))


# ----- place search ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchRequest:
    query: str
    config: SourceConfig = field(default_factory=SourceConfig)
    limit: int = SEARCH_LIMIT


def search_task(req: SearchRequest, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> list:
    """The places matching the query ([app.sources.places.Place], best first; may be empty)."""
    from app.sources.cache import Cache
    from app.sources.places import search

    cache = Cache.from_config(req.config)
    return search(req.query, req.limit, config=req.config, cache=cache, cancel=cancel, progress=progress)


# ----- fetching an area ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchRequest:
    kind: str  # "place" (a place picked from the search) | "surroundings" (around the files open)
    label: str  # what the layer is called in the window: "Kranjska Gora (2 km around)"
    config: SourceConfig = field(default_factory=SourceConfig)
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north; or…
    around: tuple[MapData, ...] = ()  # …the data whose bounds, grown by radius_m, make the box
    radius_m: float = 2000.0


@dataclass
class Fetched:
    kind: str
    file: LoadedFile  # the cached .osm file, read
    bbox: tuple[float, float, float, float]
    warnings: list[str] = field(default_factory=list)


def _bytes(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def _relay(progress: Progress, what: str):
    """Progress for fetch_osm and the reader in the window's words: bytes received, then features read."""

    def relay(stage: str, step: int, total: int, message: str = "", preview=None) -> None:
        if stage == "fetch" and total == 1 and step == 1 and "cache" in message:
            progress("fetch", 1, 1, f"{what}: from the cache")
        elif stage == "fetch" and step > 0:
            size = f"{_bytes(step)} of {_bytes(total)}" if total > 1 else _bytes(step)
            progress("fetch", step, total, f"{what}: {size} received")
        elif stage == "fetch":
            progress("fetch", 0, 0, f"{what}: {message}" if message else what)
        else:
            progress(stage, step, total, message)

    return relay


def box_of(req: FetchRequest) -> tuple[float, float, float, float]:
    if req.bbox is not None:
        return req.bbox
    from app.errors import InputError

    bounds = MapData.merge(list(req.around)).frame_bounds() if req.around else None
    if bounds is None:
        raise InputError("there are no files open to fetch the surroundings of")
    return grow_box(bounds, req.radius_m)


def fetch_task(req: FetchRequest, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> Fetched:
    """Fetch (or take from the cache) the OpenStreetMap data of the request's box and read it with the ordinary
    reader, so it becomes a layer like any dropped file."""
    from app.jobs.render import load
    from app.sources.cache import Cache
    from app.sources.overpass import fetch_osm

    bbox = box_of(req)
    notes: list[str] = []
    relay = _relay(progress, "OpenStreetMap data")
    path = fetch_osm(bbox, cancel=cancel, progress=relay, cache=Cache.from_config(req.config), config=req.config,
                     query_name=req.label, warnings=notes)  # fmt: skip
    cancel.check()
    progress("read", 0, 1, "reading the OpenStreetMap data")
    data = load([path], progress=progress, cancel=cancel)
    progress("read", 1, 1, f"{len(data):,} features")
    notes = [n.replace("a smaller --radius or box", "a smaller Radius") for n in notes]  # the window's words
    data.warnings[:0] = notes
    return Fetched(req.kind, LoadedFile(path, data, label=req.label), bbox, notes)


# ----- saving ----------------------------------------------------------------------------------------------
def copy_task(job: tuple[Path, Path], *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> Path:
    """Copy a fetched file (src, dest) out of the cache; the destination appears whole or not at all."""
    src, dest = (Path(p) for p in job)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}-", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            total, done = os.fstat(fin.fileno()).st_size, 0
            while chunk := fin.read(1 << 20):
                cancel.check()
                fout.write(chunk)
                done += len(chunk)
                progress("export", done, total, f"{dest.name}: {_bytes(done)}")
        os.chmod(tmp, 0o644)  # a file of the person's, not the cache's private one
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
