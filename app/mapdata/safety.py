"""Guards for untrusted files: XML entity declarations, zip and gzip/bzip2 bombs, unsafe member names."""

from __future__ import annotations

import bz2
import gzip
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from app.errors import InputError
from app.mapdata.limits import Limits

XML_HEAD_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024

_DOCTYPE = re.compile(r"<!\s*DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_EXTERNAL = re.compile(r"\b(SYSTEM|PUBLIC)\b|\[", re.IGNORECASE)


def decode_head(head: bytes) -> str:
    """Decode the start of an XML or JSON file well enough to look at its markup (never for content)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("utf-8", "replace")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", "replace")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", "replace")
    return head.decode("latin-1")


def strip_prolog_noise(text: str) -> str:
    """Remove the XML declaration, processing instructions and comments before the root element."""
    text = re.sub(r"<\?.*?\?>", " ", text, flags=re.DOTALL)
    return re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)


def check_xml_head(head: bytes, path) -> None:
    """Refuse XML that declares entities or an external/internal DTD.

    Entities can only be declared in the prolog, before the root element, so we walk the prolog
    (declaration, processing instructions, comments, doctype) and refuse when it does not end
    within `head`: a prolog padded past our look-ahead could hide a DOCTYPE.
    """
    text = decode_head(head)
    if _ENTITY.search(text):
        raise InputError("XML entities are not allowed", path=path)
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= n:
            break
        for start, end in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(start, pos):
                close = text.find(end, pos + len(start))
                if close < 0:
                    raise InputError("the XML prolog is too long or unterminated", path=path)
                pos = close + len(end)
                break
        else:
            m = _DOCTYPE.match(text, pos)
            if not m:
                return  # the root element (or not XML at all: the parser will say so)
            close = text.find(">", m.end())
            if close < 0 or _EXTERNAL.search(text, m.end(), close):
                raise InputError("XML entities are not allowed (the file declares a document type)", path=path)
            pos = close + 1
    if len(head) >= XML_HEAD_BYTES:
        raise InputError("the XML prolog is too long or unterminated", path=path)


def check_xml_file(path, *, shown=None) -> None:
    """check_xml_head on a file; `shown` is the path named in the error (e.g. the archive, not its member)."""
    with open(path, "rb") as f:
        check_xml_head(f.read(XML_HEAD_BYTES), shown or path)


def _safe_member_name(name: str) -> bool:
    if not name or "\x00" in name:
        return False
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return False
    return ".." not in PurePosixPath(norm).parts


def open_zip(path, limits: Limits) -> zipfile.ZipFile:
    """Open a zip after checking its directory: member count, names, total size and compression ratio."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise InputError(f"the zip archive is corrupt or truncated ({e})", path=path) from None
    except NotImplementedError as e:  # e.g. "zip file version 25.5": a feature Python's zipfile lacks
        raise InputError(f"the zip archive uses a feature MapBrush cannot unpack ({e})", path=path) from None
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_members:
            n, cap = len(infos), limits.max_zip_members
            raise InputError(f"the zip archive has too many members ({n}, limit {cap})", path=path)
        total = 0
        for info in infos:
            if not _safe_member_name(info.filename):
                raise InputError(f"the zip archive contains an unsafe file name: {info.filename!r}", path=path)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_compression_ratio:
                raise InputError("the zip archive is a zip bomb (its compression ratio is implausibly high)", path=path)
        if total > limits.max_uncompressed_size:
            raise InputError(
                f"the zip archive unpacks to {total / 2**20:.0f} MiB, over the limit of "
                f"{limits.max_uncompressed_size / 2**20:.0f} MiB",
                path=path,
            )
    except InputError:
        zf.close()
        raise
    return zf


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, limits: Limits, path) -> None:
    """Copy one member to `dest` (a path we chose), stopping at the declared size and the size limit."""
    cap = min(info.file_size, limits.max_uncompressed_size)
    written = 0
    try:
        with zf.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > cap:
                    raise InputError("a zip member is larger than its directory says", path=path)
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError) as e:
        raise InputError(f"the zip archive is corrupt or truncated ({e})", path=path) from None


def compression_of(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    return None


def _open_compressed(path, kind: str):
    return gzip.open(path, "rb") if kind == "gzip" else bz2.open(path, "rb")


def read_compressed_head(path, kind: str, n: int) -> bytes:
    """Up to `n` decompressed bytes; as many as could be decoded when the stream is truncated or corrupt."""
    dec = zlib.decompressobj(32 + zlib.MAX_WBITS) if kind == "gzip" else bz2.BZ2Decompressor()
    out = bytearray()
    try:
        with open(path, "rb") as f:
            while len(out) < n and not dec.eof and (chunk := f.read(64 * 1024)):
                out += dec.decompress(chunk, n - len(out))
    except (OSError, EOFError, zlib.error, ValueError):
        pass
    return bytes(out[:n])


def decompress_to(path, kind: str, dest: Path, limits: Limits) -> None:
    """Decompress gzip/bzip2 `path` into `dest`, refusing bombs as they unfold."""
    compressed = max(Path(path).stat().st_size, 1)
    written = 0
    try:
        with _open_compressed(path, kind) as src, open(dest, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limits.max_uncompressed_size:
                    raise InputError(
                        f"the file unpacks to more than {limits.max_uncompressed_size / 2**20:.0f} MiB", path=path
                    )
                if written > limits.ratio_floor and written / compressed > limits.max_compression_ratio:
                    raise InputError("the file is a compression bomb (it unpacks implausibly large)", path=path)
                out.write(chunk)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise InputError(f"the compressed file is corrupt or truncated ({e})", path=path) from None
