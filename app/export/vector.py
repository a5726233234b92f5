"""SVG and PDF export through skia's own backends (skia.SVGCanvas, skia.PDF.MakeDocument).

The parts (vector_parts.py) are drawn in pixel units; the page is the picture's size in pixels, or its print size
when a DPI is given (PDF: points, 72 a inch; SVG: millimetres, with the pixel viewBox).

SVG: skia's SVG canvas writes one flat list of elements, so each part is drawn into an SVG document of its own,
parsed (defusedxml) and its body wrapped in `<g id="part">` (an Inkscape layer, too) in one document; the ids
skia gives clip paths and images are prefixed with the part's, so the parts' never clash. Text is `<text>` in
the style's font family (installed fonts; SVG does not carry them). PDF: one page, text as text in embedded
(subset) fonts, the painting as a lossless image at full resolution.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import skia

from app import __version__
from app.export.metadata import format_parameters
from app.export.png import metadata_json, save_atomic
from app.export.vector_parts import Part

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
ET.register_namespace("inkscape", INKSCAPE_NS)
_REF = re.compile(r"url\(#([^)]+)\)")
_HREF = f"{{{XLINK_NS}}}href"


def _points_per_px(dpi: float | None) -> float:
    return 72.0 / dpi if dpi else 1.0


def pdf_bytes(parts: list[Part], size: tuple[int, int], metadata: Mapping[str, Any], *,
              dpi: float | None = None) -> bytes:  # fmt: skip
    """One PDF page with every part drawn in order."""
    w, h = size
    k = _points_per_px(dpi)
    stream = skia.DynamicMemoryWStream()
    meta = skia.PDF.Metadata()
    meta.fTitle = str(metadata.get("title") or "")
    meta.fSubject = format_parameters(metadata)
    meta.fCreator = f"MapBrush {__version__}"
    meta.fProducer = f"MapBrush {__version__} (Skia PDF)"
    meta.fRasterDPI = float(dpi or 72.0)
    doc = skia.PDF.MakeDocument(stream, meta)
    canvas = doc.beginPage(w * k, h * k)
    canvas.scale(k, k)
    for part in parts:
        canvas.save()
        part.draw(canvas)
        canvas.restore()
    doc.endPage()
    doc.close()
    return stream.detachAsData().bytes()


def _part_svg(part: Part, size: tuple[int, int]) -> ET.Element:
    stream = skia.DynamicMemoryWStream()
    canvas = skia.SVGCanvas.Make(skia.Rect.MakeWH(*size), stream)
    part.draw(canvas)
    del canvas  # the SVG canvas finishes its document when it goes
    return SafeET.fromstring(stream.detachAsData().bytes())


def _prefix_ids(elements: list[ET.Element], prefix: str) -> None:
    """Make skia's ids (img_0, cl_3…) unique to the part, and every reference to them follow."""
    for root in elements:
        for el in root.iter():
            if "id" in el.attrib:
                el.set("id", f"{prefix}-{el.get('id')}")
            for key, value in el.attrib.items():
                if key == _HREF and value.startswith("#"):
                    el.set(key, f"#{prefix}-{value[1:]}")
                elif "url(#" in value:
                    el.set(key, _REF.sub(lambda m: f"url(#{prefix}-{m.group(1)})", value))


def svg_bytes(parts: list[Part], size: tuple[int, int], metadata: Mapping[str, Any], *,
              dpi: float | None = None) -> bytes:  # fmt: skip
    """One SVG document: each part's drawing inside `<g id="part">`, bottom first."""
    w, h = size
    width, height = (f"{w * 25.4 / dpi:.3f}mm", f"{h * 25.4 / dpi:.3f}mm") if dpi else (str(w), str(h))
    root = ET.Element(f"{{{SVG_NS}}}svg", {"width": width, "height": height, "viewBox": f"0 0 {w} {h}",
                                           "version": "1.1"})  # fmt: skip
    title = metadata.get("title")
    if title:
        ET.SubElement(root, f"{{{SVG_NS}}}title").text = str(title)
    ET.SubElement(root, f"{{{SVG_NS}}}metadata", {"id": "mapbrush"}).text = metadata_json(metadata)
    for part in parts:
        body = list(_part_svg(part, size))
        _prefix_ids(body, part.id)
        group = ET.SubElement(root, f"{{{SVG_NS}}}g", {"id": part.id, f"{{{INKSCAPE_NS}}}groupmode": "layer",
                                                       f"{{{INKSCAPE_NS}}}label": part.id})  # fmt: skip
        group.extend(body)
    ET.indent(root, space=" ")
    buf = io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue()


def write_vector(path: str | Path, parts: list[Part], size: tuple[int, int], metadata: Mapping[str, Any], *,
                 dpi: float | None = None) -> Path:  # fmt: skip
    """Write the parts as SVG or PDF (by `path`'s extension), atomically."""
    path = Path(path)
    fmt = "PDF" if path.suffix.lower() == ".pdf" else "SVG"
    data = (pdf_bytes if fmt == "PDF" else svg_bytes)(parts, size, metadata, dpi=dpi)
    return save_atomic(path, lambda f: f.write(data), fmt)
