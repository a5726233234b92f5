"""Tell a map file's format from its content (the extension only breaks ties)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from app.errors import InputError
from app.mapdata.safety import compression_of, decode_head, read_compressed_head, strip_prolog_noise

UNSUPPORTED = (
    "unsupported file format (expected GeoJSON, GPX, KML/KMZ, Shapefile, GeoPackage, FlatGeobuf or OpenStreetMap)"
)
FORMATS = ("geojson", "gpx", "kml", "kmz", "shapefile", "osm-xml", "osm-pbf", "gpkg", "fgb")
_HEAD = 64 * 1024
_ROOT_NAME = re.compile(r"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_XML_ROOTS = {"gpx": "gpx", "kml": "kml", "osm": "osm-xml"}


def _xml_root(head: bytes) -> str | None:
    text = strip_prolog_noise(decode_head(head))
    text = re.sub(r"<!\s*DOCTYPE[^>\[]*(\[.*?\])?\s*>", " ", text, flags=re.DOTALL | re.IGNORECASE)
    m = _ROOT_NAME.search(text)
    return m.group(1).lower() if m else None


def sniff_bytes(head: bytes) -> str | None:
    """Format from the first bytes of a file; None when the bytes alone cannot tell."""
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:3] == b"fgb" and head[4:7] == b"fgb":
        return "fgb"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shapefile"
    if b"OSMHeader" in head[:64]:
        return "osm-pbf"
    text = decode_head(head).lstrip()
    if text.startswith("{"):
        return "geojson"
    if text.startswith("<"):
        return _XML_ROOTS.get(_xml_root(head) or "")
    return None


def _sniff_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n.lower() for n in zf.namelist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise InputError(f"the zip archive is corrupt or truncated ({e})", path=path) from None
    if any(n.endswith(".kml") for n in names):
        return "kmz"
    if any(n.endswith(".shp") for n in names):
        return "shapefile"
    return None


def sniff(path) -> str:
    """The format name of a map file (one of FORMATS), or InputError when it is not one we read."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except IsADirectoryError:
        raise InputError("this is a folder, not a map file", path=path) from None
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the file ({e.strerror or e})", path=path) from None
    if not head:
        raise InputError("the file is empty", path=path)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        fmt = _sniff_zip(path)
    elif kind := compression_of(head):
        inner = read_compressed_head(path, kind, _HEAD)
        fmt = "osm-xml" if inner and sniff_bytes(inner) == "osm-xml" else None
        if fmt is None and inner and b"OSMHeader" in inner[:64]:
            fmt = "osm-pbf"
    else:
        fmt = sniff_bytes(head)
    if fmt is None:
        raise InputError(UNSUPPORTED, path=path)
    return fmt
