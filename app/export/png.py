"""Write finished maps as PNG with embedded metadata, atomically; read that metadata back.

A PNG from MapBrush carries two text chunks before the image data:
- `mapbrush`: compact JSON (see metadata.build_metadata), UTF-8 in an iTXt chunk;
- `parameters`: the same as one readable text (A1111/ComfyUI convention), see format_parameters;
- for an AI picture, `prompt` and `workflow`: ComfyUI's API and UI graphs of the stage (backends/comfyui/graphs.py);
- for a final-stage picture, its reference image (the preview it re-rendered), which nothing else can make again:
  a private `mbIm` chunk, b"name\0" + a WebP file (quality 90, at the stage's resolution) that
  `mapbrush export-workflow` writes beside the workflow under the name the graph's LoadImage gives.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngImageFile, PngInfo

from app.errors import AppError, InputError
from app.export.chunks import IMAGE_CHUNK, read_image_chunks, read_text_chunks
from app.export.metadata import format_parameters
from app.export.pngencode import SIGNATURE as PNG_SIGNATURE
from app.export.pngencode import write_png_stream
from app.jobs.render import MAX_SIDE

__all__ = ["METADATA_KEY", "PARAMETERS_KEY", "format_parameters", "read_metadata", "read_parameters", "write_png"]

METADATA_KEY = "mapbrush"
PARAMETERS_KEY = "parameters"
COMFY_PROMPT_KEY = "prompt"  # ComfyUI's API graph, so the picture opens as the workflow that made it
COMFY_WORKFLOW_KEY = "workflow"  # ComfyUI's UI graph
EMBED_QUALITY = 90  # WebP quality of embedded input images
COMPRESS_LEVEL = 1  # painted maps: level 1 is ~1.5x faster than 3 for ~5% more bytes (2048², measured)


def write_png(
    path: str | Path,
    image: np.ndarray | Image.Image,
    metadata: Mapping[str, Any],
    *,
    dpi: float | None = None,
    images: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write `image` (HxWx3 / HxWx4 uint8, or a PIL image) to `path` with `metadata` embedded.

    `images` ({file name: HxWx3 uint8}) are a ComfyUI graph's input images, embedded as WebP (mbIm chunks).

    Atomic: the PNG is written to a temporary file next to `path`, flushed to disk and renamed over
    `path`. On any failure the temporary file is removed and an existing file at `path` is untouched.
    Raises AppError (naming the file) when the file cannot be written.
    """
    path = Path(path)
    info = PngInfo()
    info.add_itxt(METADATA_KEY, metadata_json(metadata))
    info.add_text(PARAMETERS_KEY, format_parameters(metadata))  # tEXt, or iTXt when not latin-1
    for key, text in comfyui_chunks(metadata).items():
        info.add_text(key, text)  # tEXt `prompt` and `workflow`, as ComfyUI writes them
    for name, pixels in (images or {}).items():
        info.add(IMAGE_CHUNK, name.encode("latin-1") + b"\0" + encode_embedded(pixels))
    if dpi is not None and not (dpi > 0 and np.isfinite(dpi)):
        raise ValueError(f"dpi must be a positive number, not {dpi!r}")
    if isinstance(image, Image.Image):
        options: dict[str, Any] = {"pnginfo": info, "compress_level": COMPRESS_LEVEL}
        if dpi is not None:
            options["dpi"] = (float(dpi), float(dpi))
        return save_atomic(path, lambda f: image.save(f, format="PNG", **options), "PNG")
    pixels = _checked_array(image)  # streamed band by band (pngencode.py): no second full-size copy
    return save_atomic(path, lambda f: write_png_stream(f, pixels, info.chunks, dpi=dpi, level=COMPRESS_LEVEL),
                       "PNG")  # fmt: skip


def save_atomic(path: Path, save: Callable[[BinaryIO], None], what: str) -> Path:
    """Call `save(file)` on a temporary file next to `path`, flush it to disk and rename it over `path`.

    On any failure the temporary file is removed and an existing file at `path` is untouched.
    Raises AppError (naming the file) when the file cannot be written.
    """
    folder = path.parent
    if not folder.is_dir():
        raise AppError("the folder to save into does not exist", path=path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as e:
        raise AppError(f"could not write the {what} ({e.strerror or e})", path=path) from e
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def encode_embedded(pixels: np.ndarray) -> bytes:
    """An embedded input image as a WebP file (lossy, quality 90: a 1024x768 painting is ~100-200 KB)."""
    buf = io.BytesIO()
    _as_image(pixels).convert("RGB").save(buf, format="WEBP", quality=EMBED_QUALITY, method=4)
    return buf.getvalue()


def read_embedded_images(path: str | Path) -> dict[str, bytes]:
    """The input images write_png embedded, {file name: WebP bytes}; {} when none."""
    return read_image_chunks(path)


def comfyui_chunks(metadata: Mapping[str, Any]) -> dict[str, str]:
    """ComfyUI's `prompt` (API graph) and `workflow` (UI graph) for an AI picture; {} for a procedural one."""
    from app.backends.comfyui.graphs import graphs_for_metadata

    graphs = graphs_for_metadata(dict(metadata))
    if graphs is None:
        return {}
    api, workflow = graphs
    # ASCII JSON (non-Latin prompts escaped), so both are plain tEXt chunks as ComfyUI's own are
    return {COMFY_PROMPT_KEY: json.dumps(api), COMFY_WORKFLOW_KEY: json.dumps(workflow)}


def metadata_json(metadata: Mapping[str, Any]) -> str:
    """The `mapbrush` metadata as compact JSON (numpy values, paths and sets made plain)."""
    return json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False, default=_json)


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as HxWx3 uint8; InputError (naming the file) when unreadable or too large."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    try:
        with open_image(path) as im:
            if im.width > MAX_SIDE or im.height > MAX_SIDE:
                raise InputError(f"image is too large ({im.width}x{im.height}; at most {MAX_SIDE} pixels a side)",
                                 path=path)  # fmt: skip
            return np.asarray(im.convert("RGB"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError: OSError
        raise InputError(f"not a readable image ({exc})", path=path) from None


def open_image(path: Path) -> Image.Image:
    """Image.open, except that a PNG up to MAX_SIDE a side (our own prints: 16384² is 268 megapixels, over
    Pillow's decompression-bomb limit of 179) is opened without Pillow's check, once its header says its size."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        if w > MAX_SIDE or h > MAX_SIDE:
            raise InputError(f"image is too large ({w}x{h}; at most {MAX_SIDE} pixels a side)", path=path)
        return PngImageFile(path)  # the plugin class itself: Image.open's bomb check is not run
    return Image.open(path)


def read_metadata(path: str | Path) -> dict | None:
    """The `mapbrush` metadata of a PNG; None for a PNG without it.

    Never decodes pixel data. Raises InputError (naming the file) for a non-PNG, a corrupt PNG, or
    a `mapbrush` chunk that is not a JSON object.
    """
    text = read_text_chunks(path, {METADATA_KEY}).get(METADATA_KEY)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InputError("the MapBrush metadata in this PNG is corrupt", path=path)
    return data


def read_parameters(path: str | Path) -> str | None:
    """The human-readable `parameters` text of a PNG (ours, A1111's, ...); None if absent."""
    return read_text_chunks(path, {PARAMETERS_KEY}).get(PARAMETERS_KEY)


def _as_image(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    return Image.fromarray(np.ascontiguousarray(_checked_array(image)))  # uint8: L, RGB or RGBA by shape


def _checked_array(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise TypeError(f"image must be uint8, not {arr.dtype}")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"image must be HxWx3 or HxWx4, not shape {arr.shape}")
    if 0 in arr.shape[:2]:
        raise ValueError("image is empty")
    return arr


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"metadata value of type {type(value).__name__} cannot be stored")


def _mode_for(path: Path) -> int:
    """Keep the permissions of the file we replace; a new file gets rw-r--r--."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
