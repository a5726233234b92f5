"""The picture formats MapBrush writes, chosen by the output's extension: PNG, JPEG, WebP, and SVG and PDF.

PNG carries the full metadata in text chunks (see png.py). JPEG and WebP carry the same `mapbrush` JSON and the
readable `parameters` text in an XMP packet (JPEG also stores the DPI); read_metadata reads all three back.
SVG and PDF are vector documents (vector.py; render_to_file draws the map's layers into them); written from a
finished picture alone they hold it as an image.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.errors import InputError
from app.export.metadata import format_parameters
from app.export.png import _as_image, metadata_json, save_atomic, write_png
from app.export.png import read_metadata as read_png_metadata

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".svg": "SVG", ".pdf": "PDF"}
VECTOR = frozenset({"SVG", "PDF"})
WORLD_FILE_SUFFIX = {"PNG": ".pgw", "JPEG": ".jgw", "WEBP": ".wld"}  # ESRI world files beside a picture
JPEG_QUALITY = 92
WEBP_QUALITY = 90
_XMP_NS = "https://mapbrush.app/ns/1.0/"
_XMP_FIELD = re.compile(rb"<mapbrush:metadata>(.*?)</mapbrush:metadata>", re.DOTALL)
_MAX_XMP = 60_000  # one JPEG APP1 segment holds 64 KiB


def format_of(path: str | Path) -> str:
    """PNG, JPEG, WEBP, SVG or PDF for an output path; InputError for any other extension."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        what = f"'{path.suffix}' files" if path.suffix else "a file without an extension"
        raise InputError(f"MapBrush cannot write {what}; name the output .png, .jpg, .webp, .svg or .pdf",
                         path=path)  # fmt: skip
    return fmt


MAX_SIDE_OF = {"WEBP": 16383}  # the format's own limit, under MapBrush's 16384 (JPEG: 65535)


def check_size(path: str | Path, size: tuple[int, int]) -> None:
    """InputError, in one line, when the format of `path` cannot hold a picture of `size` (width, height)."""
    fmt = format_of(path)
    most = MAX_SIDE_OF.get(fmt)
    if most is not None and max(size) > most:
        raise InputError(f"a {fmt} picture holds at most {most} px a side, not {size[0]}x{size[1]}; "
                         "write a .png or .jpg", path=Path(path))  # fmt: skip


def check_output(path: str | Path, inputs=()) -> None:
    """Everything that would make writing `path` fail, found before any work starts (InputError)."""
    path = Path(path)
    if path.is_dir():
        raise InputError("this is a folder; name an output file inside it", path=path)
    format_of(path)
    folder = path.parent
    if not folder.exists():
        raise InputError("the folder to save into does not exist", path=path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", path=path)
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".mapbrush-probe-"):
            pass
    except OSError as e:
        raise InputError(f"cannot write into this folder ({e.strerror or e})", path=path) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError("the file exists and cannot be overwritten (it is read-only)", path=path)
    target = path.resolve()
    for inp in inputs:
        if Path(inp).resolve() == target:
            raise InputError("the output would overwrite an input file", path=path)


def write_image(
    path: str | Path,
    image: np.ndarray | Image.Image,
    metadata: Mapping[str, Any],
    *,
    dpi: float | None = None,
    images: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write the picture in the format its extension names, atomically, with `metadata` embedded.

    `images`, a ComfyUI graph's input images by file name, are embedded in a PNG (png.write_png) and dropped
    from other formats."""
    path = Path(path)
    fmt = format_of(path)
    if fmt == "PNG":
        return write_png(path, image, metadata, dpi=dpi, images=images)
    if fmt in VECTOR:  # the picture alone, as an image in the document
        from app.export.vector import write_vector
        from app.export.vector_parts import image_part

        arr = np.asarray(_as_image(image).convert("RGB"))
        return write_vector(path, [image_part("painting", arr)], (arr.shape[1], arr.shape[0]), metadata, dpi=dpi)
    im = _as_image(image)
    if im.mode not in ("RGB", "L") and fmt == "JPEG":
        im = im.convert("RGB")
    options: dict[str, Any] = {"quality": JPEG_QUALITY if fmt == "JPEG" else WEBP_QUALITY}
    xmp = _xmp(metadata)
    if len(xmp) <= _MAX_XMP:
        options["xmp"] = xmp
    if dpi is not None and fmt == "JPEG":
        if not (dpi > 0 and np.isfinite(dpi)):
            raise ValueError(f"dpi must be a positive number, not {dpi!r}")
        options["dpi"] = (float(dpi), float(dpi))
    return save_atomic(path, lambda f: im.save(f, format=fmt, **options), fmt)


def read_metadata(path: str | Path) -> dict | None:
    """The `mapbrush` metadata of a PNG, JPEG or WebP MapBrush wrote; None when the picture has none."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(12)
    if head.startswith(b"\x89PNG"):
        return read_png_metadata(path)
    try:
        with Image.open(path) as im:
            xmp = im.info.get("xmp") or b""
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"not a readable image ({e})", path=path) from None
    m = _XMP_FIELD.search(xmp if isinstance(xmp, bytes) else str(xmp).encode())
    if m is None:
        return None
    try:
        data = json.loads(html.unescape(m.group(1).decode("utf-8")))
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InputError("the MapBrush metadata in this picture is corrupt", path=path)
    return data


def is_picture(head: bytes) -> bool:
    """PNG, JPEG or WebP, from a file's first 12 bytes."""
    return head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _xmp(metadata: Mapping[str, Any]) -> bytes:
    text = html.escape(metadata_json(metadata), quote=False)
    params = html.escape(format_parameters(metadata), quote=False)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:mapbrush="{_XMP_NS}" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<mapbrush:metadata>{text}</mapbrush:metadata>"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{params}</rdf:li></rdf:Alt></dc:description>'
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()
