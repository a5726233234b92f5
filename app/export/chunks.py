"""Read a PNG's text chunks without decoding a single pixel.

Walks the chunk list (seeking past image data), checks CRCs of the chunks it reads and guards
against compressed-text bombs. Works the same for a 100-pixel icon and a 400-megapixel print.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from app.errors import InputError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
MAX_TEXT_BYTES = 16 * 1024 * 1024  # one text chunk, after decompression
MAX_CHUNKS = 1_000_000
IMAGE_CHUNK = b"mbIm"  # private, ancillary, safe to copy: b"name\0" + an image file (a ComfyUI graph's input)
MAX_IMAGE_BYTES = 64 * 1024 * 1024


def read_text_chunks(path: str | Path, keys: set[str] | None = None) -> dict[str, str]:
    """All text chunks (tEXt, zTXt, iTXt) as {keyword: text}; only `keys` if given.

    Raises InputError (naming the file) for a missing file, a non-PNG or a corrupt PNG.
    """
    path = Path(path)
    return _read(path, keys, images=False)[0]


def read_image_chunks(path: str | Path) -> dict[str, bytes]:
    """The image files embedded in `mbIm` chunks, {name: file bytes} (a ComfyUI graph's input images)."""
    return _read(path, set(), images=True)[1]


def _read(path: str | Path, keys: set[str] | None, images: bool) -> tuple[dict[str, str], dict[str, bytes]]:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _walk(f, path, keys, images)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("this is a folder, not a PNG file", path=path) from None
    except PermissionError:
        raise InputError("no permission to read this file", path=path) from None
    except OSError as e:
        raise InputError(f"could not read the file ({e.strerror or e})", path=path) from e


def _walk(f, path: Path, keys: set[str] | None, images: bool) -> tuple[dict[str, str], dict[str, bytes]]:
    if f.read(8) != SIGNATURE:
        raise InputError("not a PNG file", path=path)
    out: dict[str, str] = {}
    found: dict[str, bytes] = {}
    size = os.fstat(f.fileno()).st_size
    for n in range(MAX_CHUNKS):
        head = f.read(8)
        if len(head) < 8:
            raise InputError("the PNG file is truncated (no end marker)", path=path)
        length, ctype = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise InputError("the PNG file is corrupt (bad chunk header)", path=path)
        if n == 0 and ctype != b"IHDR":
            raise InputError("the PNG file is corrupt (no header chunk)", path=path)
        if ctype == b"IEND":
            return out, found
        if ctype in TEXT_TYPES or (images and ctype == IMAGE_CHUNK and length <= MAX_IMAGE_BYTES):
            data = f.read(length)
            crc = f.read(4)
            if len(data) < length or len(crc) < 4:
                raise InputError("the PNG file is truncated", path=path)
            if zlib.crc32(ctype + data) != struct.unpack(">I", crc)[0]:
                raise InputError(f"the PNG file is corrupt (bad checksum in a {ctype.decode()} chunk)", path=path)
            if ctype == IMAGE_CHUNK:
                name, _, blob = data.partition(b"\0")
                found.setdefault(name.decode("latin-1"), blob)
                continue
            key, text = _decode(ctype, data, path)
            if keys is None or key in keys:
                out.setdefault(key, text)
        else:
            end = f.tell() + length + 4
            if end > size:
                raise InputError("the PNG file is truncated", path=path)
            f.seek(end)  # skip data and CRC, image data included, without reading it
    raise InputError("the PNG file is corrupt (too many chunks)", path=path)


def _decode(ctype: bytes, data: bytes, path: Path) -> tuple[str, str]:
    try:
        key, _, rest = data.partition(b"\0")
        keyword = key.decode("latin-1")
        if ctype == b"tEXt":
            return keyword, rest.decode("latin-1")
        if ctype == b"zTXt":
            return keyword, _inflate(rest[1:], path).decode("latin-1")
        compressed, method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\0")
        _tkey, _, text = rest.partition(b"\0")
        if compressed:
            if method != 0:
                raise ValueError("unknown compression")
            text = _inflate(text, path)
        return keyword, text.decode("utf-8")
    except (IndexError, ValueError, zlib.error) as e:
        raise InputError(f"the PNG file is corrupt (unreadable {ctype.decode()} chunk)", path=path) from e


def _inflate(data: bytes, path: Path) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_TEXT_BYTES)
    if d.unconsumed_tail:
        raise InputError("the PNG file holds a text chunk too large to read", path=path)
    return out
