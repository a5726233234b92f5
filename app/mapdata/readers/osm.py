"""OpenStreetMap: XML (.osm, .osm.gz, .osm.bz2) and PBF through pyosmium, areas assembled by osmium."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import osmium
import shapely
from osmium.geom import WKBFactory

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.coastline import coast_runs, sea_polygons
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.model import Kind
from app.mapdata.readers import RawFeatures
from app.mapdata.safety import check_xml_file, compression_of, decompress_to
from app.mapdata.sniff import sniff_bytes

_AREA_KEYS = {
    "building", "building:part", "landuse", "leisure", "amenity", "natural", "water", "place", "tourism", "shop",
    "historic", "military", "aeroway", "man_made", "area:highway", "landcover", "wetland", "golf",
}  # fmt: skip
_NOT_AREA = {
    "natural": {"coastline", "cliff", "ridge", "arete", "tree_row", "valley", "gorge", "earth_bank"},
    "leisure": {"track", "slipway"},
    "aeroway": {"runway", "taxiway"},
    "man_made": {"pier", "cutline", "embankment", "pipeline", "breakwater", "groyne"},
}
_CHECK_EVERY = 20_000
# What libosmium raises on input it cannot parse: bad XML or PBF blocks (RuntimeError), attribute values it rejects
# such as id="abc", version="-5" or timestamp="garbage" (ValueError), and coordinates like lat="nan" (its own class).
_PARSE_ERRORS = (RuntimeError, ValueError, osmium.InvalidLocationError)


def _is_area(tags: dict) -> bool:
    """Should a closed way with these tags be a polygon (True) or a line (False)?"""
    area = tags.get("area")
    if area == "yes":
        return True
    if area == "no":
        return False
    if tags.get("waterway") in ("riverbank", "dock", "boatyard"):
        return True
    if tags.get("railway") == "platform" or tags.get("public_transport") == "platform":
        return True
    return any(k in _AREA_KEYS and v not in _NOT_AREA.get(k, ()) for k, v in tags.items())


def _keep_node(tags: dict) -> bool:
    """Named nodes and places; unnamed benches, crossings and trees are details of the map, not features."""
    return bool(tags.get("name")) or "place" in tags


class _Collector:
    def __init__(self, limits: Limits, path) -> None:
        self.wkb: list[str] = []
        self.props: list[dict] = []
        self.coast: list[str] = []
        self.broken = 0
        self.limits, self.path = limits, path

    def add(self, wkb: str, tags: dict) -> None:
        if len(self.wkb) >= self.limits.max_features:
            raise InputError(f"the file has more than {self.limits.max_features:,} features", path=self.path)
        self.wkb.append(wkb)
        self.props.append(tags)


def _coast_wkb(way, fab) -> list[str]:
    """A coastline way as WKB; a way an extract cut at its box (nodes missing) as the runs of nodes it still has."""
    try:
        return [fab.create_linestring(way)]
    except (RuntimeError, osmium.InvalidLocationError):
        pts = [(n.location.lon, n.location.lat) if n.location.valid() else None for n in way.nodes]
        return [shapely.to_wkb(line, hex=True) for line in coast_runs(pts)]


def _scan(osm_file: osmium.io.File, collector: _Collector, progress, cancel) -> None:
    fab = WKBFactory()
    fp = osmium.FileProcessor(osm_file).with_areas().with_filter(osmium.filter.EmptyTagFilter())
    for n, obj in enumerate(fp):
        if n % _CHECK_EVERY == 0:
            cancel.check()
            progress("read", 1, 3, f"{n:,} OpenStreetMap objects")
        try:
            if obj.is_node():
                tags = dict(obj.tags)
                if _keep_node(tags):
                    collector.add(fab.create_point(obj), tags)
            elif obj.is_way():
                tags = dict(obj.tags)
                if tags.get("natural") == "coastline":
                    collector.coast += _coast_wkb(obj, fab)
                elif not (obj.is_closed() and _is_area(tags)):
                    collector.add(fab.create_linestring(obj), tags)
            elif obj.is_area():
                tags = dict(obj.tags)
                if obj.from_way() and (not _is_area(tags) or tags.get("natural") == "coastline"):
                    continue  # closed highways, fences, island coastlines: already handled as lines
                collector.add(fab.create_multipolygon(obj), tags)
        except (RuntimeError, osmium.InvalidLocationError):
            collector.broken += 1  # a way whose nodes are outside the extract, a ring that does not close


def _from_wkb(wkb: list[str], on_invalid: str) -> np.ndarray:
    if not wkb:
        return np.empty(0, object)
    with np.errstate(invalid="ignore"):  # no RuntimeWarning on stderr for a NaN; clean_geometries reports it
        return np.asarray(shapely.from_wkb(wkb, on_invalid=on_invalid), dtype=object)


def _header_box(osm_file: osmium.io.File):
    try:
        with osmium.io.Reader(osm_file, osmium.osm.osm_entity_bits.NOTHING) as reader:
            box = reader.header().box()
    except (*_PARSE_ERRORS, AttributeError):
        return None
    if not box.valid():
        return None
    b = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    return b if b[0] < b[2] and b[1] < b[3] else None


def _read_plain(path: Path, fmt: str, shown, *, limits: Limits, progress, cancel) -> RawFeatures:
    if fmt == "osm-xml":
        check_xml_file(path, shown=shown)
    osm_file = osmium.io.File(str(path), "pbf" if fmt == "osm-pbf" else "osm")
    collector = _Collector(limits, shown)
    try:
        _scan(osm_file, collector, progress, cancel)
        extent = _header_box(osmium.io.File(str(path), "pbf" if fmt == "osm-pbf" else "osm"))
    except _PARSE_ERRORS as e:  # the parser stops at the first bad value: there is no object to skip and go on
        problem = " ".join(str(e).split())[:200] or type(e).__name__
        what = "is corrupt or truncated" if isinstance(e, RuntimeError) else "holds a value that is not valid OSM"
        raise InputError(f"the OpenStreetMap file {what} ({problem})", path=shown) from None
    geoms = _from_wkb(collector.wkb, "fix")
    raw = RawFeatures(geoms, collector.props, None, [None] * len(geoms), extent, dropped=collector.broken)
    if collector.broken:
        raw.warnings.append(f"skipped {collector.broken} OSM ways or areas with missing nodes or broken rings")
    _add_sea(raw, collector.coast)
    return raw


def _add_sea(raw: RawFeatures, coast_wkb: list[str]) -> None:
    coast = _from_wkb(coast_wkb, "ignore")
    if raw.extent is None and (len(raw.geometries) or len(coast)):  # nothing at all: io says "no map features"
        b = shapely.total_bounds(np.concatenate([raw.geometries, coast]))
        raw.extent = tuple(float(v) for v in b) if np.all(np.isfinite(b)) else None
    if not len(coast) or raw.extent is None:
        return
    try:
        sea = sea_polygons(coast, raw.extent, warnings=raw.warnings)
    except shapely.errors.GEOSException:
        sea = None
        raw.warnings.append("could not build the sea from the coastline; drawing the coastline only")
    if sea is None:  # coast present but undecidable: keep the lines so nothing is lost
        extra = list(coast)
        raw.props += [{"natural": "coastline"} for _ in extra]
        raw.kinds += [None] * len(extra)
    else:
        extra = [sea]
        raw.props.append({"natural": "sea", "source": "coastline"})
        raw.kinds.append(Kind.SEA)
    tail = np.empty(len(extra), object)
    tail[:] = extra
    raw.geometries = np.concatenate([raw.geometries, tail])


def read_osm(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    path = Path(path)
    progress("read", 0, 3, "reading OpenStreetMap data")
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    kind = compression_of(head)
    if kind is None:
        raw = _read_plain(path, sniff_bytes(head) or "osm-xml", path, limits=limits, progress=progress, cancel=cancel)
    else:
        with tempfile.TemporaryDirectory(prefix="mapbrush-osm-") as tmp:
            plain = Path(tmp) / "data.osm"
            decompress_to(path, kind, plain, limits)
            cancel.check()
            with open(plain, "rb") as f:
                fmt = sniff_bytes(f.read(64 * 1024)) or "osm-xml"
            raw = _read_plain(plain, fmt, path, limits=limits, progress=progress, cancel=cancel)
    progress("read", 2, 3, "OpenStreetMap data read")
    return raw
