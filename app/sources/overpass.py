"""OpenStreetMap data for a box from the Overpass API, as an OSM XML file in the cache.

The file is read by the same OSM reader as a dropped .osm (app/mapdata/readers/osm.py): no second parser, the same
classification, multipolygon and coastline assembly. The query asks for `[out:xml]` with `[timeout:]` and
`[maxsize:]`, and for the classes of features that matter at the area's scale (the area cap); the rest is named
in a warning.

An answer is cached only once it is known good: HTTP 200 is not enough (Overpass reports a timeout or an
out-of-memory as 200 with a `<remark>`), so the XML is checked whole (entity declarations refused, well-formed to
the closing `</osm>`) and must hold no remark. Anything else is a one-line SourceError and nothing is kept.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.sources import OSM_ATTRIBUTION, SourceConfig
from app.sources.cache import Cache
from app.sources.http import SourceError, download, host_of

SERVICE = "OpenStreetMap (Overpass API)"
MAX_BYTES = 1 * 2**30  # the biggest answer we accept (the reader's limit is 2 GiB on disk)
_CHUNK = 1024 * 1024
_KM_PER_DEG = 111.32


# ----- the area cap --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Detail:
    name: str  # "full", "town", "region", "country"
    max_km2: float  # the largest area fetched at this detail
    timeout: int  # Overpass [timeout:] seconds
    statements: tuple[str, ...]  # Overpass QL statements inside the union, each ending with ';'
    left_out: str  # what a smaller area would also have had ("" for full detail)


_WATER = ("wr[natural=water];", "wr[water];", "wr[waterway~'^(riverbank|dock)$'];", "way[natural=coastline];")
_PLACES = ("node[place];",)
# fmt: off
DETAILS: tuple[Detail, ...] = (
    Detail("full", 25.0, 90, (
        "way[highway];", "way['area:highway'];", "wr[building];", "wr[landuse];", "wr[natural];",
        "node[natural][name];", "wr[water];", "wr[waterway];", "wr[leisure];", "wr[amenity];",
        "way[railway][railway!~'^(abandoned|razed|dismantled|proposed)$'];",
        "node[amenity][name];", "wr[tourism];", "node[tourism][name];", "node[historic][name];", "node[place];",
        "wr[place~'^(island|islet|square)$'];", "wr[aeroway];", "way[man_made~'^(pier|breakwater|groyne)$'];",
    ), ""),
    Detail("town", 150.0, 120, (
        "way[highway~'^(motorway|trunk|primary|secondary|tertiary|unclassified|residential|pedestrian)(_link)?$'];",
        "way[railway~'^(rail|light_rail|subway|tram|narrow_gauge)$'];", "wr[landuse];", "wr[natural];",
        "node[natural~'^(peak|volcano|saddle)$'][name];", *_WATER, "wr[waterway];",
        "wr[leisure~'^(park|garden|nature_reserve|golf_course)$'];",
        "wr[aeroway=aerodrome];", *_PLACES, "wr[place~'^(island|islet)$'];",
    ), "buildings, service roads, paths, tracks and points of interest"),
    Detail("region", 2500.0, 180, (
        "way[highway~'^(motorway|trunk|primary|secondary|tertiary)(_link)?$'];",
        "way[railway~'^(rail|narrow_gauge)$'];",
        "wr[natural~'^(wood|water|glacier|bare_rock|scree|wetland|heath|grassland|beach|sand|bay)$'];",
        "wr[landuse~'^(forest|residential|industrial|commercial|retail|farmland|meadow|reservoir|basin)$'];",
        "node[natural~'^(peak|volcano)$'][name];", *_WATER, "way[waterway~'^(river|canal|stream)$'];",
        "node[place~'^(city|town|village|hamlet|suburb|island)$'];", "wr[place~'^(island|islet)$'];",
    ), "buildings, streets, paths, small land uses and points of interest"),
    Detail("country", 40000.0, 240, (
        "way[highway~'^(motorway|trunk|primary)$'];", "way[waterway=river];",
        "wr[natural=water][water~'^(lake|reservoir|lagoon)$'];", "way[natural=coastline];",
        "node[place~'^(city|town|village)$'];",
    ), "everything but motorways, trunk and primary roads, rivers, lakes, the coast and place names"),
)
# fmt: on


def area_km2(bbox: tuple[float, float, float, float]) -> float:
    w, s, e, n = bbox
    mid = math.radians((s + n) / 2)
    return max(0.0, (e - w) * _KM_PER_DEG * math.cos(mid)) * max(0.0, (n - s) * _KM_PER_DEG)


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """A usable west, south, east, north box (InputError otherwise)."""
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InputError(f"{bbox!r} is not a box of west, south, east, north") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise InputError("the box has a coordinate that is not a number")
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InputError(
            f"the box {w:g},{s:g},{e:g},{n:g} is not west,south,east,north in degrees (west < east, south < north)"
        )
    return w, s, e, n


def detail_for(bbox) -> Detail:
    """The richest detail whose cap the area fits; InputError past the largest."""
    km2 = area_km2(bbox)
    for d in DETAILS:
        if km2 <= d.max_km2:
            return d
    cap = DETAILS[-1].max_km2
    raise InputError(
        f"the area is too large to fetch from OpenStreetMap ({km2:,.0f} km²; the limit is {cap:,.0f} km², "
        f"a box about {math.sqrt(cap):.0f} km across); open a file of the area instead"
    )


def left_out_warning(bbox, detail: Detail) -> str | None:
    if not detail.left_out:
        return None
    return (
        f"the area is {area_km2(bbox):,.0f} km², so OpenStreetMap data was fetched at {detail.name} detail: "
        f"{detail.left_out} were left out (a smaller --radius or box has them)"
    )


def build_query(bbox, detail: Detail | None = None, *, maxsize: int = 512 * 2**20) -> str:
    """The Overpass QL for `bbox` (west, south, east, north): the features of `detail`, their nodes and members."""
    w, s, e, n = check_bbox(bbox)
    detail = detail or detail_for((w, s, e, n))
    box = f"{s:.6f},{w:.6f},{n:.6f},{e:.6f}"
    body = "\n".join(f"  {st}" for st in detail.statements)
    return f"[out:xml][timeout:{detail.timeout}][maxsize:{maxsize}][bbox:{box}];\n(\n{body}\n);\n(._;>;);\nout body;\n"


# ----- checking an answer --------------------------------------------------------------------------------
_REMARK = re.compile(rb"<remark>(.*?)</remark>", re.S)


def _remark(path: Path) -> str | None:
    """Overpass's own error, which it sends as HTTP 200: a <remark> at the start or where the output stopped."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
        f.seek(max(0, size - 64 * 1024))
        tail = f.read()
    for part in (head, tail):
        m = _REMARK.search(part)
        if m:
            return " ".join(m.group(1).decode("utf-8", "replace").split())[:200] or "an error"
    return None


def _bounds_tag(bbox) -> bytes:
    w, s, e, n = bbox
    return f'\n  <bounds minlat="{s:.7f}" minlon="{w:.7f}" maxlat="{n:.7f}" maxlon="{e:.7f}"/>'.encode()


def check_and_frame(raw: Path, dest_dir: Path, bbox, label: str, cancel: CancelToken = NEVER) -> Path:
    """Check a downloaded answer whole and write it again with a <bounds> of the box asked for (the map's extent:
    the reader frames it and closes the sea within it). Returns the new temp file; SourceError when the answer is
    not usable. Entity declarations are refused (app.mapdata.safety and expat's own handlers); the XML must be
    well-formed to its end: a truncated answer is caught here, not when a render reads it."""
    from xml.parsers import expat

    from app.mapdata.safety import check_xml_file

    try:
        check_xml_file(raw, shown=label)
    except InputError as e:
        raise SourceError(f"{label}: the answer was refused ({e.message})") from None
    remark = _remark(raw)
    if remark is not None:
        raise SourceError(f"{label}: the server could not answer: {remark} (try a smaller area, or again later)")

    def refuse(*_):
        raise SourceError(f"{label}: the answer declares XML entities; refused")

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse
    parser.StartDoctypeDeclHandler = refuse
    root: list[str] = []
    parser.StartElementHandler = lambda name, attrs: _root_seen(parser, root, name)
    fd, name = tempfile.mkstemp(prefix=".osm-", suffix=".osm", dir=dest_dir)
    out = Path(name)
    try:
        with os.fdopen(fd, "wb") as dst, open(raw, "rb") as src:
            first = True
            while chunk := src.read(_CHUNK):
                cancel.check()
                parser.Parse(chunk, False)
                if first:
                    chunk = _with_bounds(chunk, bbox, label)
                    first = False
                dst.write(chunk)
            parser.Parse(b"", True)
        if root != ["osm"]:
            raise SourceError(f"{label}: the answer is not OpenStreetMap XML")
    except expat.ExpatError as e:
        out.unlink(missing_ok=True)
        where = "cut off" if "no element found" in str(e) or "unclosed token" in str(e) else "malformed"
        why = f"{expat.ErrorString(e.code)}, line {e.lineno}"
        raise SourceError(f"{label}: the answer is {where} XML ({why})") from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def _root_seen(parser, root: list[str], name: str) -> None:
    root.append(name)
    parser.StartElementHandler = None  # the root is enough; the rest parses at C speed


_OSM_OPEN = re.compile(rb"<osm\b[^>]*>")


def _with_bounds(chunk: bytes, bbox, label: str) -> bytes:
    if b"<bounds" in chunk[:4096]:
        return chunk
    m = _OSM_OPEN.search(chunk)
    if m is None or m.group(0).endswith(b"/>"):
        return chunk  # <osm/>: no data at all; the reader says so
    return chunk[: m.end()] + _bounds_tag(bbox) + chunk[m.end() :]


# ----- fetching ------------------------------------------------------------------------------------------
def cache_key(config: SourceConfig, query: str) -> str:
    return f"overpass {config.overpass_url}\n{query}"


def fetch_osm(
    bbox,
    *,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
    cache: Cache | None = None,
    config: SourceConfig | None = None,
    query_name: str | None = None,
    warnings: list[str] | None = None,
) -> Path:
    """The OSM XML file (in the cache) of the features of `bbox` (west, south, east, north) at the detail its area
    allows. A fresh cache entry is used without asking; with no network an expired one is used with a warning.
    What the area cap left out, and a stale entry used, are appended to `warnings`. `query_name` (the place, or
    the files' names) is recorded with the entry for the picture's metadata."""
    config = config or SourceConfig()
    cache = cache or Cache.from_config(config)
    bbox = check_bbox(bbox)
    detail = detail_for(bbox)
    query = build_query(bbox, detail)
    key = cache_key(config, query)
    notes = warnings if warnings is not None else []
    note = left_out_warning(bbox, detail)
    if note:
        notes.append(note)
    hit = cache.lookup(key, ".osm")
    if hit is not None:
        progress("fetch", 1, 1, "OpenStreetMap data from the cache")
        return hit
    label = f"{SERVICE} at {host_of(config.overpass_url)}"
    tmp = cache.temp_dir()
    try:
        raw = download(
            config.overpass_url,
            tmp,
            method="POST",
            params={"data": query},
            max_bytes=MAX_BYTES,
            timeout=max(config.timeout, detail.timeout + 15.0),
            connect_timeout=config.timeout,
            cancel=cancel,
            progress=progress,
            accept="application/osm3s+xml, application/xml",
            config=config,
            label=label,
        )
    except SourceError as e:
        stale = cache.lookup(key, ".osm", stale=True)
        if stale is None:
            raise
        days = (cache.age(key, ".osm") or 0) / 86400
        notes.append(
            f"could not refresh the OpenStreetMap data ({e.one_line()}); using what was fetched {days:.0f} days ago"
        )
        return stale
    try:
        framed = check_and_frame(raw, tmp, bbox, label, cancel)
    finally:
        raw.unlink(missing_ok=True)
    meta = {
        "service": SERVICE,
        "endpoint": config.overpass_url,
        "query": query,
        "name": query_name,
        "bbox": list(bbox),
        "detail": detail.name,
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "attribution": OSM_ATTRIBUTION,
        "license": "ODbL-1.0",
    }
    return cache.put_file(key, framed, ".osm", meta=meta)


def entry_meta(path: Path) -> dict:
    """What fetch_osm recorded about a cached file (service, query, bbox, fetched …); {} for any other file."""
    import json

    side = Path(path).with_name(Path(path).name.split(".")[0] + ".meta")
    try:
        return json.loads(side.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
