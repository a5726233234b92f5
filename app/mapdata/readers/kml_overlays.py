"""KML beyond placemarks: GroundOverlay images, NetworkLinks to local files, Region/Lod super-overlays.

GDAL reads the placemarks (app/mapdata/readers/kml.py); this module reads the KML XML itself with defusedxml,
follows NetworkLinks to files inside the KMZ (or beside the KML) and turns GroundOverlays into `Raster`s.

What is read, and what is refused:
- hrefs are local relative paths only. A URL (http, https, ftp, file://…) is skipped with a warning naming it;
  an absolute path, or one leading out of the KMZ or the KML's folder (`../`), is refused with a warning.
- links are followed breadth first, at most MAX_LINK_DEPTH deep, MAX_LINKED_DOCUMENTS documents and
  MAX_IMAGES images, all files together within `Limits.max_uncompressed_size` bytes; a document is read once
  (a link cycle ends there).
- images are JPEG, PNG, GIF, BMP or WebP of at most `Limits.max_image_pixels` (checked on the header, before
  decoding: the decompression-bomb guard), downsampled to MAX_IMAGE_SIDE on decode.
- PhotoOverlay, ScreenOverlay, Model and remote links are skipped with a warning naming them.

Super-overlays (a pyramid of tiles, each level behind NetworkLinks with Regions): the reader does not know the
output size, so it aims at a fixed TARGET_PX across the pyramid. A level is followed when its tiles, at the
size of the images of the level above, stay within about TARGET_PX across the union of the top level's
Regions, and when its Region is at least its Lod's minLodPixels big at that size (as Google Earth would show
it). Every level read is drawn, coarse under fine, so a level with holes falls back to the one above.
"""

from __future__ import annotations

import io
import math
import posixpath
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from PIL import Image

from app.errors import InputError
from app.mapdata.limits import Limits
from app.mapdata.model import Raster
from app.mapdata.readers.kml_package import Package
from app.mapdata.safety import XML_HEAD_BYTES, check_xml_head

MAX_LINK_DEPTH = 6
MAX_LINKED_DOCUMENTS = 500
MAX_IMAGES = 1000
TARGET_PX = 4096  # the super-overlay resolution aimed at, px across the pyramid (output size is unknown here)
LEVEL_SLACK = 1.25  # a level may be this much bigger than TARGET_PX ("not much bigger")
MAX_IMAGE_SIDE = 4096  # decoded overlay images are downsampled to this (px, long side)
MAX_DECODED_PIXELS = 48_000_000  # all overlay images together, after downsampling
MAX_WARNINGS = 12  # the rest are counted in one line
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
_CONTAINERS = {"Document", "Folder", "kml"}
_READ_ERRORS = (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)
# What Pillow raises on a corrupt or hostile image, besides its decompression-bomb error.
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error,
                 Image.DecompressionBombError)  # fmt: skip
_ITEMS = {"GroundOverlay", "NetworkLink", "PhotoOverlay", "ScreenOverlay", "Placemark"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, name: str):
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el, *path: str) -> str | None:
    for name in path:
        el = _child(el, name) if el is not None else None
    return el.text.strip() if el is not None and el.text and el.text.strip() else None


def _num(el, name: str, default: float | None = None) -> float | None:
    try:
        v = float(_text(el, name) or "nan")
    except ValueError:
        return default
    return v if math.isfinite(v) else default


@dataclass(frozen=True)
class Region:
    box: tuple[float, float, float, float]  # west, south, east, north
    min_lod: float = 0.0


@dataclass
class Overlay:
    name: str
    href: str  # resolved, inside the package
    corners: np.ndarray
    depth: int
    order: int
    region: Region | None
    color: tuple[int, int, int, int] = (255, 255, 255, 255)  # KML <color> as RGBA
    data: bytes = b""
    size: tuple[int, int] = (0, 0)


@dataclass
class Link:
    name: str
    href: str
    region: Region | None
    parent_image: tuple[int, int] | None  # image size of the linking document's overlays (for the level guess)


@dataclass
class Found:
    """What the walk found: overlays to draw, per document the (name, bounds) of every GroundOverlay that GDAL turns
    into a polygon (bounds None: a Model, which GDAL reads without geometry), documents with placemarks, warnings."""

    rasters: list[Raster] = field(default_factory=list)
    overlay_keys: dict[str, list[tuple[str, tuple]]] = field(default_factory=dict)
    placemark_docs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document_name: str | None = None  # the root document's <Document><name> (GDAL drops it with several folders)


def _region(el) -> Region | None:
    r = _child(el, "Region")
    box = _child(r, "LatLonAltBox") if r is not None else None
    if box is None:
        return None
    n, s, e, w = (_num(box, k) for k in ("north", "south", "east", "west"))
    if None in (n, s, e, w) or n <= s:
        return None
    if e < w:
        e += 360.0
    return Region((w, s, e, n), _num(_child(r, "Lod"), "minLodPixels", 0.0) if _child(r, "Lod") is not None else 0.0)


def _box_corners(el) -> np.ndarray | None:
    """LatLonBox (rotated counter-clockwise about its centre) or gx:LatLonQuad → 4 lon/lat corners."""
    quad = _child(el, "LatLonQuad")
    if quad is not None:
        try:
            pts = np.array([[float(v) for v in t.split(",")[:2]] for t in (_text(quad, "coordinates") or "").split()])
        except ValueError:
            return None
        return pts if pts.shape == (4, 2) else None
    box = _child(el, "LatLonBox")
    if box is None:
        return None
    n, s, e, w = (_num(box, k) for k in ("north", "south", "east", "west"))
    if None in (n, s, e, w) or n <= s or e == w:
        return None
    if e < w:  # crosses the antimeridian
        e += 360.0
    c = np.array([[w, s], [e, s], [e, n], [w, n]], float)
    rot = _num(box, "rotation", 0.0)
    if rot:
        # KML rotates the image on the ground: in lon/lat scaled to local metres, then back.
        mid = c.mean(axis=0)
        k = max(math.cos(math.radians(mid[1])), 1e-6)
        t = math.radians(rot)
        d = (c - mid) * [k, 1.0]
        d = d @ np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
        c = mid + d / [k, 1.0]
    return c


def _kml_color(text: str | None) -> tuple[int, int, int, int]:
    if not text or not re.fullmatch(r"#?[0-9A-Fa-f]{8}", text):
        return (255, 255, 255, 255)
    v = text.lstrip("#")
    a, b, g, r = (int(v[i : i + 2], 16) for i in (0, 2, 4, 6))
    return (r, g, b, a)


class _Warnings:
    """Warning lines, at most MAX_WARNINGS of each start; the rest counted in one line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.lines) < MAX_WARNINGS:
            self.lines.append(f"skipped {text}")
        else:
            self.more += 1

    def done(self) -> list[str]:
        more = [f"skipped {self.more} more KML item{'s' if self.more != 1 else ''}"] if self.more else []
        return self.lines + more


def _walk(pkg: Package, name: str) -> Iterator[tuple[str, object, Region | None]]:
    """(tag, element, inherited Region) for every GroundOverlay, NetworkLink, PhotoOverlay, ScreenOverlay and
    Placemark of one document, each complete when yielded and cleared after (big files stay small); and
    ("name", element, None) for the <name> of the document's outermost Document or Folder."""
    stack: list = []
    regions: list[Region | None] = []
    try:
        with pkg.open(name) as f:
            check_xml_head(f.read(XML_HEAD_BYTES), pkg.shown)
        with pkg.open(name) as f:
            for event, el in iterparse(f, events=("start", "end"), forbid_dtd=True):
                if event == "start":
                    stack.append(el)
                    regions.append(regions[-1] if regions else None)
                    continue
                stack.pop()
                inherited = regions.pop()
                tag = _local(el.tag)
                if tag == "Region" and stack and _local(stack[-1].tag) in _CONTAINERS:
                    regions[-1] = _region(stack[-1]) or regions[-1]
                elif tag in _ITEMS:
                    yield tag, el, inherited
                    el.clear()
                elif tag == "name" and _outermost_container(stack):
                    yield tag, el, None
    except (ParseError, DefusedXmlException, LookupError, ValueError) as e:  # LookupError: an unknown encoding
        where = "the file" if pkg.zf is None and name == pkg.root else f"{name} in {pkg.where}"
        raise InputError(f"{where} is corrupt or truncated (not valid XML: {e})", path=pkg.shown) from None
    except _READ_ERRORS as e:
        raise InputError(f"the archive is corrupt or truncated ({name}: {e})", path=pkg.shown) from None


def _outermost_container(stack: list) -> bool:
    """Whether the open elements are the document's outermost Document or Folder (inside <kml> or not)."""
    tags = [_local(e.tag) for e in stack]
    return tags in (["Document"], ["Folder"], ["kml", "Document"], ["kml", "Folder"])


def _gdal_key(el) -> tuple[str, tuple[float, ...]] | None:
    """(name, bounds) of the polygon GDAL makes of a GroundOverlay: the box, unrotated, or the quad's bounds."""
    quad, box = _child(el, "LatLonQuad"), _child(el, "LatLonBox")
    if quad is None and box is not None:
        n, s, e, w = (_num(box, k) for k in ("north", "south", "east", "west"))
        return (_text(el, "name") or "", (w, s, e, n)) if None not in (n, s, e, w) else None
    c = _box_corners(el)
    return (_text(el, "name") or "", _bounds(c)) if c is not None else None


class _Walker:
    """One breadth-first walk over a document and the local documents it links to."""

    def __init__(self, pkg: Package, limits: Limits) -> None:
        self.pkg, self.limits = pkg, limits
        self.found, self.warn = Found(), _Warnings()
        self.budget = limits.max_uncompressed_size - pkg.size(pkg.root)
        self.docs, self.images = 1, 0
        self.overlays: list[Overlay] = []
        self.union: list[tuple[float, float, float, float]] = []  # the Regions at the top of a super-overlay

    def run(self) -> Found:
        seen = {self.pkg.root}
        level: list[tuple[str, Region | None]] = [(self.pkg.root, None)]
        for depth in range(MAX_LINK_DEPTH + 1):
            links = [link for name, region in level for link in self.document(name, region, depth)]
            level = []
            for link in links:
                if link.href in seen:
                    continue  # read already: a cycle, or two links to one document
                if depth == MAX_LINK_DEPTH:
                    too_deep = f"links nested deeper than {MAX_LINK_DEPTH} are not followed"
                    self.warn.add(f"NetworkLink '{link.name}' ({too_deep})")
                elif _worth_following(link, self.union) and self._take(link.name, link.href, "NetworkLink"):
                    seen.add(link.href)
                    level.append((link.href, link.region))
            if not level:
                break
        self.found.rasters = _decode_all(self.overlays, self.warn)
        self.found.warnings = self.warn.done()
        return self.found

    def _take(self, label: str, name: str, tag: str) -> bool:
        """Count a file against the limits; False (and a warning) when it passes them."""
        if tag == "NetworkLink" and self.docs >= MAX_LINKED_DOCUMENTS:
            self.warn.add(f"NetworkLink '{label}' (more than {MAX_LINKED_DOCUMENTS} linked documents)")
            return False
        if tag == "GroundOverlay" and self.images >= MAX_IMAGES:
            self.warn.add(f"GroundOverlay '{label}' (more than {MAX_IMAGES} overlay images)")
            return False
        size = self.pkg.size(name)
        if size > self.budget:
            self.warn.add(f"{tag} '{label}' (the linked files pass the size limit)")
            return False
        self.budget -= size
        if tag == "NetworkLink":
            self.docs += 1
        else:
            self.images += 1
        return True

    def document(self, name: str, link_region: Region | None, depth: int) -> list[Link]:
        """Read one document: its overlays and placemark flag into `found`, its links returned."""
        keys = self.found.overlay_keys.setdefault(name, [])
        links: list[Link] = []
        images: list[tuple[int, int]] = []
        try:
            for tag, el, inherited in _walk(self.pkg, name):
                if tag == "name":
                    if name == self.pkg.root and self.found.document_name is None:
                        self.found.document_name = " ".join((el.text or "").split()) or None
                    continue
                label = _text(el, "name") or f"untitled {tag}"
                region = _region(el) or inherited or link_region
                if tag == "Placemark":
                    if name not in self.found.placemark_docs:
                        self.found.placemark_docs.append(name)
                    if any(_local(c.tag) == "Model" for c in el.iter()):
                        self.warn.add(f"Model '{label}' (3D models are not drawn)")
                        keys.append((_text(el, "name") or "", None))  # GDAL reads it as a feature without geometry
                elif tag in ("PhotoOverlay", "ScreenOverlay"):
                    self.warn.add(f"{tag} '{label}' ({tag[:-7].lower()} overlays are not drawn)")
                elif tag == "NetworkLink":
                    link = self._link(name, el, label, _region(el) or inherited)
                    if link is not None:
                        links.append(link)
                        if depth == 0 and link.region is not None:
                            self.union.append(link.region.box)
                else:
                    key = _gdal_key(el)
                    if key is not None:
                        keys.append(key)
                    ov = self._overlay(name, el, label, region, depth)
                    if ov is not None:
                        images.append(ov.size)
                        if depth <= 1 and region is not None:
                            self.union.append(region.box)
        except InputError:
            if name == self.pkg.root:
                raise
            self.warn.add(f"linked document {name} (it is not valid KML)")
        for link in links:
            link.parent_image = max(images) if images else None
        return links

    def _link(self, base: str, el, label: str, region: Region | None) -> Link | None:
        href = _text(el, "Link", "href") or _text(el, "Url", "href")
        if not href:
            return None
        target, why = self.pkg.resolve(base, href)
        if target is None:
            self.warn.add(f"NetworkLink '{label}' ({why})")
            return None
        if not target.lower().endswith(".kml"):
            self.warn.add(f"NetworkLink '{label}' (links to {posixpath.basename(target)} are not followed)")
            return None
        return Link(label, target, region, None)

    def _overlay(self, base: str, el, label: str, region: Region | None, depth: int) -> Overlay | None:
        corners = _box_corners(el)
        if corners is None or not np.isfinite(corners).all() or np.abs(corners[:, 1]).max() > 90:
            self.warn.add(f"GroundOverlay '{label}' (no usable LatLonBox or gx:LatLonQuad)")
            return None
        href = _text(el, "Icon", "href")
        if not href:
            self.warn.add(f"GroundOverlay '{label}' (it has no image)")
            return None
        target, why = self.pkg.resolve(base, href)
        if target is None:
            self.warn.add(f"GroundOverlay '{label}' (image: {why})")
            return None
        if not self._take(label, target, "GroundOverlay"):
            return None
        data = self.pkg.read(target, self.pkg.size(target))
        size = _image_size(data)
        if size == (0, 0):
            self.warn.add(f"GroundOverlay '{label}' (its image {target} is not a JPEG, PNG, GIF, BMP or WebP)")
            return None
        if size[0] * size[1] > self.limits.max_image_pixels:
            self.warn.add(f"GroundOverlay '{label}' (its image {target} is too large: {size[0]}×{size[1]})")
            return None
        order = int(_num(el, "drawOrder", 0) or 0)
        ov = Overlay(label, target, corners, depth, order, region, _kml_color(_text(el, "color")), data, size)
        self.overlays.append(ov)
        return ov


def find_overlays(pkg: Package, limits: Limits) -> Found:
    """Walk `pkg.root` and the local documents it links to, and read the overlays' images. InputError only for
    the root document; trouble further down becomes a warning."""
    return _Walker(pkg, limits).run()


def _bounds(c: np.ndarray) -> tuple[float, float, float, float]:
    return float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max())


def _union_size(union) -> tuple[float, float]:
    """Width (degrees of longitude, scaled to the equator's) and height of the union of boxes."""
    w, s = min(b[0] for b in union), min(b[1] for b in union)
    e, n = max(b[2] for b in union), max(b[3] for b in union)
    return (e - w) * max(math.cos(math.radians((s + n) / 2)), 1e-6), n - s


def _worth_following(link: Link, union) -> bool:
    """A link without a Region is followed; a Region's link when its level fits TARGET_PX (module docstring)."""
    if link.region is None or not union:
        return True
    uw, uh = _union_size(union)
    w, s, e, n = link.region.box
    k = max(math.cos(math.radians((s + n) / 2)), 1e-6)
    rw, rh = (e - w) * k, n - s
    if TARGET_PX * math.sqrt(max(rw * rh, 0.0)) / max(uw, uh, 1e-12) < link.region.min_lod:
        return False  # Google Earth would not show it at this size
    if link.parent_image is None:
        return True  # nothing to guess from: the top of a pyramid
    # Its tiles, with images as big as the linking document's, across the whole union:
    across = max(link.parent_image[0] * uw / max(rw, 1e-12), link.parent_image[1] * uh / max(rh, 1e-12))
    return across <= TARGET_PX * LEVEL_SLACK


def _image_size(data: bytes) -> tuple[int, int]:
    """The image's size from its header (nothing decoded); (0, 0) when it is no image we read."""
    try:
        with warnings.catch_warnings():  # Pillow's bomb warning: the caller checks the size itself
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
                return im.size
    except _IMAGE_ERRORS:
        return (0, 0)


def _decode(ov: Overlay) -> np.ndarray:
    with Image.open(io.BytesIO(ov.data), formats=IMAGE_FORMATS) as im:
        if im.format == "JPEG":
            im.draft("RGB", (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))  # decode at a reduced scale when big
        im = im.convert("RGBA")
        if max(im.size) > MAX_IMAGE_SIDE:
            im.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
        rgba = np.asarray(im, np.uint8).copy()
    if ov.color != (255, 255, 255, 255):
        rgba = (rgba.astype(np.uint16) * np.array(ov.color, np.uint16) // 255).astype(np.uint8)
    return rgba


def _decode_all(overlays: list[Overlay], warn: _Warnings) -> list[Raster]:
    """Decode within MAX_DECODED_PIXELS: plain overlays first, then the finest pyramid level down."""
    rasters, left = [], MAX_DECODED_PIXELS
    for ov in sorted(overlays, key=lambda o: (o.region is not None, -o.depth)):
        w, h = ov.size
        scale = min(1.0, MAX_IMAGE_SIDE / max(w, h))
        px = int(w * scale) * int(h * scale)
        if px > left:
            warn.add(f"GroundOverlay '{ov.name}' (the overlay images pass {MAX_DECODED_PIXELS:,} pixels)")
            continue
        try:
            image = _decode(ov)
        except _IMAGE_ERRORS as e:
            warn.add(f"GroundOverlay '{ov.name}' (its image {ov.href} cannot be read: {e})")
            continue
        finally:
            ov.data = b""
        left -= image.shape[0] * image.shape[1]
        rasters.append(Raster(image, ov.corners, ov.name, ov.depth * 10_000 + ov.order))
    rasters.sort(key=lambda r: r.order)
    return rasters
