"""Recognise model files a person points at: diffusers folder, .gguf, .safetensors. Never pickle."""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.models.schema import Catalog

PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl", ".pickle")
_PIPELINE_FAMILY = {"ZImagePipeline": "z-image", "Flux2KleinPipeline": "flux2-klein", "Flux2Pipeline": "flux2"}
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
_QUANT = re.compile(r"(?<![A-Za-z0-9])(BF16|F16|F32|Q\d_K_[SML]|Q\d_K|Q\d_\d|Q\d)(?![A-Za-z0-9])", re.I)


@dataclass(frozen=True)
class Sniffed:
    format: str  # diffusers | gguf | safetensors
    path: Path
    pipeline: str = ""  # diffusers: model_index.json _class_name
    quant: str = ""  # from the file name, e.g. Q4_K_M


def sniff(path: Path) -> Sniffed:
    """What kind of model `path` is; InputError for anything MapBrush will not load."""
    if path.is_dir():
        index = path / "model_index.json"
        if not index.is_file():
            raise InputError("this folder is not a diffusers model (no model_index.json)", path=str(path))
        try:
            pipeline = json.loads(index.read_text(encoding="utf-8")).get("_class_name", "")
        except (ValueError, UnicodeDecodeError, AttributeError):
            raise InputError("model_index.json is not valid JSON", path=str(index)) from None
        return Sniffed("diffusers", path, pipeline=str(pipeline))
    if not path.is_file():
        raise InputError("no such file or folder", path=str(path))
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise InputError(
            f"{suffix} checkpoints are Python pickles, which can run code when loaded; MapBrush only loads "
            ".safetensors and .gguf files. Download the safetensors or GGUF version of this model instead.",
            path=str(path),
        )
    quant = _quant(path.name)
    if suffix == ".gguf":
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise InputError("not a GGUF file (it does not start with 'GGUF')", path=str(path))
        return Sniffed("gguf", path, quant=quant)
    if suffix == ".safetensors":
        _check_safetensors(path)
        return Sniffed("safetensors", path, quant=quant)
    raise InputError(
        "not a model MapBrush can use: give a diffusers folder, a .safetensors or a .gguf file", path=str(path)
    )


def _quant(name: str) -> str:
    match = _QUANT.search(Path(name).stem.replace(".", "_"))
    return match.group(1).upper() if match else ""


def _check_safetensors(path: Path) -> None:
    """A safetensors file starts with a little-endian u64 header length and a JSON header."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise InputError("not a safetensors file (too short)", path=str(path))
        (length,) = struct.unpack("<Q", raw)
        if length == 0 or length > min(_MAX_SAFETENSORS_HEADER, size - 8):
            raise InputError("not a safetensors file (bad header length)", path=str(path))
        try:
            header = json.loads(fh.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InputError("not a safetensors file (its header is not JSON)", path=str(path)) from None
    if not isinstance(header, dict) or not any(k != "__metadata__" for k in header):
        raise InputError("safetensors file holds no tensors", path=str(path))


_NAME_HINTS = (  # (regex on the lower-case file/folder name, catalog model id)
    (r"controlnet", "z-image-turbo-controlnet"),
    (r"z[-_ ]?image", "z-image-turbo"),
    (r"klein[-_ ]?9b", "flux2-klein-9b"),
    (r"klein[-_ ]?4b|klein", "flux2-klein-4b"),
    (r"flux[-_.]?2[-_ ]?dev", "flux2-dev"),
)


def guess_model(sniffed: Sniffed, catalog: Catalog) -> str:
    """The catalog model this file or folder is, or InputError asking the person to say which."""
    ids = [mid for mid, m in catalog.models.items()]
    if sniffed.format == "diffusers":
        family = _PIPELINE_FAMILY.get(sniffed.pipeline)
        if family is None:
            what = sniffed.pipeline or "unknown"
            raise InputError(f"MapBrush has no engine for a {what} pipeline", path=str(sniffed.path))
        candidates = [mid for mid, m in catalog.models.items() if m.family == family and m.role != "controlnet"]
        if len(candidates) == 1:
            return candidates[0]
        hinted = _by_name(sniffed.path.name, candidates)
        if hinted:
            return hinted
        raise InputError(f"say which model this is: one of {', '.join(candidates)}", path=str(sniffed.path))
    hinted = _by_name(sniffed.path.name, ids)
    if hinted:
        return hinted
    raise InputError(f"say which model this file is: one of {', '.join(ids)}", path=str(sniffed.path))


def _by_name(name: str, allowed: list[str]) -> str | None:
    lower = name.lower()
    for pattern, mid in _NAME_HINTS:
        if mid in allowed and re.search(pattern, lower):
            return mid
    return None
