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
# A shapefile's side files: not maps of their own (a .shx even starts like a .shp).
SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".qmd")
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
    except NotImplementedError as e:  # e.g. "zip file version 25.5": a feature Python's zipfile lacks
        raise InputError(f"the zip archive uses a feature MapBrush cannot unpack ({e})", path=path) from None
    if any(n.endswith(".kml") for n in names):
        return "kmz"
    if any(n.endswith(".shp") for n in names):
        return "shapefile"
    return None


def read_head(path, n: int = _HEAD) -> bytes:
    """The first `n` bytes of a file; InputError (naming it) for a missing file, a folder or no permission."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except IsADirectoryError:
        raise InputError("this is a folder, not a map file", path=path) from None
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except PermissionError:
        raise InputError("no permission to read this file", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the file ({e.strerror or e})", path=path) from None


def check_not_sidecar(path: Path) -> None:
    """A shapefile's .dbf/.shx/.prj/.cpg alone is not a map: say which file to open instead."""
    ext = path.suffix.lower()
    if ext not in SHAPEFILE_SIDECARS:
        return
    shp = next((c for c in (path.with_suffix(".shp"), path.with_suffix(".SHP")) if c.is_file()), None)
    if shp is not None:
        raise InputError(f"this is a shapefile's {ext} side file; open {shp.name} (or the .zip) instead", path=path)
    what = f"this is a shapefile's {ext} side file; open the .shp (or the .zip) instead"
    raise InputError(f"{what} ({path.stem}.shp is not beside it)", path=path)


def sniff(path) -> str:
    """The format name of a map file (one of FORMATS), or InputError when it is not one we read."""
    path = Path(path)
    head = read_head(path)
    check_not_sidecar(path)
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
