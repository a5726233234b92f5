"""The window's network work, as plain functions `fn(request, *, progress, cancel)` (no Qt; run by ui/workers.py):
search a place (Nominatim), fetch the OpenStreetMap data of an area (Overpass) and read it like a dropped file
(app/jobs/surroundings.py, as `render --place` and `--context` do), copy a fetched file out of the cache."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.mapdata.model import MapData
from app.sources import SourceConfig
from app.ui.tasks import LoadedFile

SEARCH_LIMIT = 8


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
    place: object = None  # app.sources.places.Place: the radius around it; or…
    around: tuple[MapData, ...] = ()  # …the data whose bounds, padded by radius_m, make the box
    radius_m: float = 2000.0
    aspect: float = 4 / 3  # the picture's: the box takes its shape, so the data fills the page
    query: str = ""  # the search that found the place (for the picture's metadata)


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


def area_of(req: FetchRequest):
    """The app.jobs.surroundings.Area to fetch: the radius around the place, or the files' bounds padded by it,
    either in the picture's shape."""
    from app.errors import InputError
    from app.jobs.surroundings import Area, box_around, fit_aspect

    r = req.radius_m
    if req.place is not None:
        p = req.place
        query = {"place": req.query or p.name, "found": p.display_name, "lat": p.lat, "lon": p.lon, "radius_m": r}
        return Area(box_around(p.lon, p.lat, r, req.aspect), p.name, query, p)
    files = MapData.merge(list(req.around)) if req.around else None
    bounds = files.frame_bounds() if files is not None else None
    if bounds is None:
        raise InputError("there are no files open to fetch the surroundings of")
    names = [Path(s.path).name for s in files.sources]
    return Area(fit_aspect(bounds, req.aspect, r), ", ".join(names[:3]), {"context": names, "pad_m": round(r, 1)})


def fetch_task(req: FetchRequest, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> Fetched:
    """Fetch (or take from the cache) the OpenStreetMap data of the request's box and read it with the ordinary
    reader, so it becomes a layer like any dropped file."""
    from app.jobs.surroundings import fetch_area
    from app.sources.cache import Cache

    area = area_of(req)
    data = fetch_area(area, config=req.config, cache=Cache.from_config(req.config), cancel=cancel,
                      progress=_relay(progress, "OpenStreetMap data"))  # fmt: skip
    progress("read", 1, 1, f"{len(data):,} features")
    # the window's words for the area cap's note
    data.warnings = [n.replace("a smaller --radius or box", "a smaller Radius") for n in data.warnings]
    path = Path(data.sources[0].path)
    return Fetched(req.kind, LoadedFile(path, data, label=req.label), area.bbox, list(data.warnings))


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
