"""Fuzzing every reader through app.mapdata.io.read_file, the path people's files take.

Each example takes a valid seed file of one format, mutates it and reads it. The mutations are byte-level (flip,
insert, delete, duplicate, truncate) and structure-aware (XML attribute values and texts replaced by hostile
strings such as "abc", "nan", "1e999", huge or negative numbers; hostile XML elements inserted; GeoJSON values
replaced by lists, objects, NaN, huge ints). Containers (.gz, .bz2, KMZ, zipped shapefiles) are mutated inside,
then packed again, or mutated as packed bytes. PBF files are also written from generated hostile objects.

A read must end in MapData or an InputError within TIME_BOUND_S seconds and MEMORY_BOUND of peak memory; any other
exception, a slower read or a bigger one fails, and so does a Python warning (it would reach the person's stderr).
A read that hangs ends the run after HANG_S with every thread's traceback (faulthandler), so CI never waits forever.

Budget: FUZZ_EXAMPLES examples per seed on every CI run (the whole module takes well under a minute on two cores).
A long run on demand, with a new random seed each time (replay one with --hypothesis-seed=N):
    MAPBRUSH_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest -q -p no:cacheprovider tests/mapdata/test_fuzz.py
A failure prints the mutations and saves the input it read (see "input:" in the report); every reproducer
becomes an explicit test in test_hostile.py.
"""

from __future__ import annotations

import bz2
import faulthandler
import gzip
import io
import json
import os
import re
import shutil
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import osmium
import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st
from osmium.osm.mutable import Node, Relation, Way

from app.errors import InputError
from app.mapdata.io import read_file
from app.mapdata.readers.ogr import ignore_gdal_warnings

DATA = Path(__file__).resolve().parent.parent / "data" / "mapdata"
FUZZ_EXAMPLES = int(os.environ.get("MAPBRUSH_FUZZ_EXAMPLES", "150"))
TIME_BOUND_S = 10.0
HANG_S = 120.0
MEMORY_BOUND = 512 * 2**20  # growth of the peak resident set during one read (Linux: VmHWM, reset before each)

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,  # our own time bound applies to the read, not to building the input
    database=None,  # nothing written into the checkout; a failure prints its example and saves its input
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

HOSTILE = [
    "abc", "nan", "NaN", "-nan", "inf", "-Infinity", "1e999", "-1e999", "1e-400", "0x1A", "1,5", "", " ", "-",
    "99999999999999999999999", "-99999999999999999999999", "9223372036854775808", "-9223372036854775809",
    "4294967296", "-5", "-1", "0", "1", "180.00000000000006", "-90.0000001", "361", "garbage",
    "2024-13-45T99:99:99Z", "9" * 400, "☃ name", "a" * 5000, "&amp;", "]]>", "\t\n", "1 2 3", "1,2,3,4,5,6",
    "yes", "no", "multipolygon", "outer", "inner", "coastline",
]  # fmt: skip
_hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
# Elements that readers look inside, with a hostile value: inserted at a tag boundary of the XML seeds.
_SNIPPETS = [
    '<tag k="name" v={q}/>', '<tag k={q} v="x"/>', '<tag k="natural" v="coastline"/>', "<nd ref={q}/>",
    '<member type="way" ref={q} role="outer"/>', '<member type={q} ref="1" role=""/>',
    '<bounds minlat={q} minlon="1" maxlat="2" maxlon="2"/>', '<node id={q} lat="1" lon="1"/>',
    '<node id="7" lat={q} lon={q}><tag k="name" v="x"/></node>', '<way id={q}><nd ref="1"/><nd ref="1"/></way>',
    '<relation id="9"><member type="relation" ref="9" role=""/><tag k="type" v="multipolygon"/></relation>',
    "<time>{t}</time>", "<ele>{t}</ele>", "<name>{t}</name>", '<wpt lat={q} lon={q}><name>x</name></wpt>',
    "<trkseg><trkpt lat={q} lon={q}/></trkseg>", "<coordinates>{t}</coordinates>",
    "<Point><coordinates>{t}</coordinates></Point>", "<LinearRing><coordinates>{t}</coordinates></LinearRing>",
    '<Data name="name"><value>{t}</value></Data>', "<altitudeMode>{t}</altitudeMode>", "<when>{t}</when>",
]  # fmt: skip


# --- byte mutations ------------------------------------------------------------------------------------------------

_pos = st.integers(0, 2**24)
_BYTE_OPS = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(1, 255)),
    st.tuples(st.just("set"), _pos, st.sampled_from([0, 0xFF, 0x7F, 0x80, ord("<"), ord('"'), ord("{"), ord("9")])),
    st.tuples(st.just("insert"), _pos, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _pos, st.integers(1, 64)),
    st.tuples(st.just("dup"), _pos, st.integers(1, 256)),
    st.tuples(st.just("truncate"), _pos, st.just(0)),
)


def _apply_bytes(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        i = pos % (len(b) + 1)
        if op == "flip" and i < len(b):
            b[i] ^= arg
        elif op == "set" and i < len(b):
            b[i] = arg
        elif op == "insert":
            b[i:i] = arg
        elif op == "delete":
            del b[i : i + arg]
        elif op == "dup":
            b[i:i] = b[i : i + arg]
        elif op == "truncate":
            del b[i:]
    return bytes(b)


# --- structure-aware mutations of XML and JSON ---------------------------------------------------------------------

_ATTR = re.compile(rb'="[^"]*"')
_TEXT = re.compile(rb">([^<>]+)<")
_TAG_END = re.compile(rb">")


def _mutate_xml(draw, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["attr", "text", "insert"]))
        value = draw(_hostile_text)
        spots = list({"attr": _ATTR, "text": _TEXT, "insert": _TAG_END}[what].finditer(data))
        if not spots:
            continue
        m = spots[draw(st.integers(0, len(spots) - 1))]
        if what == "attr":
            data = data[: m.start()] + b"=" + quoteattr(value).encode() + data[m.end() :]
        elif what == "text":
            data = data[: m.start(1)] + escape(value).encode() + data[m.end(1) :]
        else:
            snippet = draw(st.sampled_from(_SNIPPETS)).format(q=quoteattr(value), t=escape(value))
            data = data[: m.end()] + snippet.encode() + data[m.end() :]
    return data


_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _hostile_text,
)
_json_value = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["name", "a", "type", ""]), inner),
    max_leaves=8,
)
_JSON_KEYS = ["name", "tags", "highway", "building", "type", "coordinates", "geometry", "properties", "features",
              "crs", "bbox", "id", "NAME", "title", "natural", "place"]  # fmt: skip


def _slots(doc) -> list[tuple[object, object]]:
    """Every (container, key) in a JSON document, so one value anywhere can be replaced."""
    out, stack = [], [doc]
    while stack:
        node = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for k in keys:
            out.append((node, k))
            stack.append(node[k])
    return out


def _mutate_json(draw, data: bytes) -> bytes:
    doc = json.loads(data)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(doc)
        dicts = [c for c, _ in slots if isinstance(c, dict)]
        if draw(st.booleans()) and dicts:  # add or replace a key of some object: "name": ["x", "y"] and the like
            dicts[draw(st.integers(0, len(dicts) - 1))][draw(st.sampled_from(_JSON_KEYS))] = draw(_json_value)
        elif slots:
            container, key = slots[draw(st.integers(0, len(slots) - 1))]
            container[key] = draw(_json_value)
    return json.dumps(doc).encode()  # NaN and Infinity as JavaScript writes them; GDAL reads them


# --- seeds: one per reader and container -----------------------------------------------------------------------------


def _same(payload: bytes) -> bytes:
    return payload


@dataclass(frozen=True)
class Seed:
    name: str  # the file name the mutated input gets
    payload: Callable[[], bytes | dict[str, bytes]]  # the plain content, or the members of a zip
    text: str | None = None  # "xml" or "json": structure-aware mutations apply to the payload
    pack: Callable[[bytes | dict[str, bytes]], bytes] = _same  # payload → file bytes


def _read(name: str) -> Callable[[], bytes]:
    return lambda: (DATA / name).read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _shapefile_members() -> dict[str, bytes]:
    return {f"zurich_utm{e}": (DATA / f"zurich_utm{e}").read_bytes() for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")}


SEEDS = [
    Seed("sample.geojson", _read("sample.geojson"), "json"),
    Seed("track.gpx", _read("track-1.1.gpx"), "xml"),
    Seed("folders.kml", _read("folders.kml"), "xml"),
    Seed("folders.kmz", lambda: {"doc.kml": (DATA / "folders.kml").read_bytes()}, "xml", _zip),
    Seed("harbour.osm", _read("harbour.osm"), "xml"),
    Seed("harbour.osm.gz", _read("harbour.osm"), "xml", lambda p: gzip.compress(p, mtime=0)),
    Seed("harbour.osm.bz2", _read("harbour.osm"), "xml", bz2.compress),
    Seed("harbour.osm.pbf", _read("harbour.osm.pbf")),
    Seed("zurich.zip", _shapefile_members, None, _zip),
]


def _mutate(draw, data: bytes, text: str | None) -> bytes:
    structure = text is not None and draw(st.booleans())
    if structure:
        data = (_mutate_xml if text == "xml" else _mutate_json)(draw, data)
    if not structure or draw(st.booleans()):
        data = _apply_bytes(data, draw(st.lists(_BYTE_OPS, min_size=1, max_size=4)))
    return data


@st.composite
def mutated(draw, seed: Seed) -> bytes:
    """The seed's file with its content mutated (then packed again), or its packed bytes mutated."""
    payload = seed.payload()
    if seed.pack is _same or draw(st.booleans()):
        if isinstance(payload, dict):  # a zip: mutate one member
            member = draw(st.sampled_from(sorted(payload)))
            text = "xml" if member.endswith(".kml") else None
            return seed.pack({**payload, member: _mutate(draw, payload[member], text)})
        return seed.pack(_mutate(draw, payload, seed.text))
    return _apply_bytes(seed.pack(payload), draw(st.lists(_BYTE_OPS, min_size=1, max_size=4)))


# --- generated PBF -------------------------------------------------------------------------------------------------

_osm_id = st.one_of(st.integers(1, 12), st.integers(-(2**63), 2**63 - 1))
_coord = st.one_of(st.floats(-200, 200), st.sampled_from([0.0, 180.0, -180.0, 90.0, -90.0, 214.7483647, -214.7483648]))
_tag_keys = st.sampled_from(["name", "highway", "building", "natural", "type", "place", "area", ""])
_tag_values = st.one_of(st.sampled_from(["yes", "coastline", "multipolygon", "water", "city"]), _hostile_text)
_tags = st.dictionaries(_tag_keys, _tag_values, max_size=3)


@st.composite
def osm_objects(draw):
    nodes = draw(st.lists(st.tuples(_osm_id, _coord, _coord, _tags), max_size=8))
    ways = draw(st.lists(st.tuples(_osm_id, st.lists(_osm_id, max_size=6), _tags), max_size=4))
    member = st.tuples(st.sampled_from(["n", "w", "r"]), _osm_id, st.sampled_from(["outer", "inner", ""]))
    relations = draw(st.lists(st.tuples(_osm_id, st.lists(member, max_size=4), _tags), max_size=2))
    return nodes, ways, relations


def _no_nul(tags: dict) -> dict:
    """osmium's writer crashes (SIGSEGV on close) on a NUL in a string; no PBF it writes can hold one anyway."""
    return {k.replace("\0", ""): v.replace("\0", "") for k, v in tags.items()}


def _write_pbf(path: Path, objects) -> None:
    nodes, ways, relations = objects
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, lon, lat, tags in sorted(nodes, key=lambda n: n[0]):
            writer.add_node(Node(id=i, location=(lon, lat), tags=_no_nul(tags), version=1))
        for i, refs, tags in sorted(ways, key=lambda w: w[0]):
            writer.add_way(Way(id=i, nodes=refs, tags=_no_nul(tags), version=1))
        for i, members, tags in sorted(relations, key=lambda r: r[0]):
            writer.add_relation(Relation(id=i, members=members, tags=_no_nul(tags), version=1))
    finally:
        writer.close()


# --- the bounded read ----------------------------------------------------------------------------------------------


def _peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where we cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def read_bounded(path: Path) -> None:
    """read_file(path) must give MapData or InputError, within the time and memory bounds."""
    data = path.read_bytes()
    saved = path.with_name("input-" + path.name)
    shutil.copyfile(path, saved)
    note(f"input: {saved} ({len(data)} bytes): {data[:600]!r}")
    measure = sys.platform.startswith("linux") and _peak_rss_reset()
    before = _rss("VmRSS") if measure else 0
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as noise:
        warnings.simplefilter("always")
        ignore_gdal_warnings()  # as the app does when it imports its readers
        try:
            read_file(path)
        except InputError as e:
            assert e.one_line() and "\n" not in e.one_line(), e.one_line()
        finally:
            faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - start
    assert not noise, f"a warning would reach stderr: {noise[0].filename}: {noise[0].message}"
    assert elapsed < TIME_BOUND_S, f"reading took {elapsed:.1f} s"
    if measure:
        grown = _rss("VmHWM") - before
        assert grown < MEMORY_BOUND, f"reading grew the peak memory by {grown / 2**20:.0f} MiB"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
@FUZZ
@given(data=st.data())
def test_mutated_seed(work, seed, data):
    content = data.draw(mutated(seed), label="mutation")
    path = work / seed.name
    path.write_bytes(content)
    read_bounded(path)


@FUZZ
@given(objects=osm_objects())
def test_generated_pbf(work, objects):
    path = work / "generated.osm.pbf"
    try:
        _write_pbf(path, objects)
    except (RuntimeError, ValueError, TypeError, osmium.InvalidLocationError):
        reject()  # osmium would not write it: not an input anybody can hand us
    read_bounded(path)


def test_seeds_are_valid(work):
    """Each seed reads cleanly before mutation: a broken seed would only fuzz the error path."""
    for seed in SEEDS:
        path = work / seed.name
        path.write_bytes(seed.pack(seed.payload()))
        assert len(read_file(path)) > 0, seed.name
