"""Is a model file whole? Cheap structural checks that need no hashing (and no torch).

- `.safetensors`: the 8-byte header length fits the file, the header is UTF-8 JSON, and the tensors'
  data offsets end exactly at the end of the file (what a truncated or overwritten file breaks).
- `.gguf`: the magic and, when the `gguf` package is installed, a full parse of the tensor table
  (`gguf.GGUFReader` memory-maps the file, so this reads only the header pages).
- `.json` (configs, tokenizers): parses.

Hash checks against the hub's sha256 (`ModelStore.verify`) find the rest: damage inside tensor data.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit


def file_problem(path: Path) -> str | None:
    """What is wrong with one model file, in a few words; None when it looks whole."""
    try:
        if not path.is_file():
            return "is missing"
        suffix = path.suffix.lower()
        if suffix == ".safetensors":
            return _safetensors_problem(path)
        if suffix == ".gguf":
            return _gguf_problem(path)
        if suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return "is damaged (not valid UTF-8 text)"
    except ValueError as exc:
        return f"is damaged ({_short(exc)})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or _short(exc)})"
    return None


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"is truncated ({size} bytes)"
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER or 8 + n > size:
            return "is damaged (its header length does not fit the file: truncated or overwritten)"
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "is damaged (its header is not valid UTF-8: overwritten)"
    except ValueError:
        return "is damaged (its header is not valid JSON: overwritten)"
    if not isinstance(header, dict):
        return "is damaged (its header is not a table of tensors)"
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (KeyError, TypeError, ValueError, IndexError):
        return "is damaged (its header has no valid tensor offsets)"
    data = size - 8 - n
    if end > data:
        return f"is truncated ({data} bytes of tensor data, its header describes {end})"
    if end < data:
        return f"is damaged ({data - end} bytes more than its header describes)"
    return None


def _gguf_problem(path: Path) -> str | None:
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            return "is damaged (no GGUF magic at the start: overwritten or not a GGUF file)"
    try:
        from gguf import GGUFReader
    except ImportError:
        return None
    try:
        GGUFReader(path)
    except (ValueError, IndexError, KeyError, struct.error) as exc:
        return f"is damaged or truncated ({_short(exc)})"
    return None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120]


def is_file_error(exc: BaseException) -> bool:
    """Whether an exception from loading a model reads like a damaged or unreadable file (not a bug)."""
    if isinstance(exc, OSError | EOFError | UnicodeDecodeError | json.JSONDecodeError | struct.error):
        return True
    if type(exc).__name__ in ("SafetensorError", "HeaderTooLarge", "ReaderError"):
        return True
    module = type(exc).__module__ or ""
    if module.startswith(("safetensors", "gguf")):
        return True
    if isinstance(exc, ValueError):  # gguf's reader raises plain ValueErrors ("GGUF magic invalid", reshape)
        tb = exc.__traceback__
        while tb is not None:
            if "gguf" in Path(tb.tb_frame.f_code.co_filename).parts:
                return True
            tb = tb.tb_next
    return False
