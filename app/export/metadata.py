"""What an exported PNG says about how it was made: the `mapbrush` JSON and its human-readable twin."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from app import __version__

SCHEMA = 1
APP = "mapbrush"
_CORE = ("app", "schema", "version", "title", "style", "engine", "seed", "size", "inputs")
_CORE += ("bounds", "crs")


def build_metadata(
    *,
    style: str,
    engine: str,
    seed: int | None,
    size: tuple[int, int] | list[int],
    inputs: Iterable[Any],
    bounds: tuple[float, float, float, float] | list[float] | None,
    crs: str | None,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """The `mapbrush` chunk's content. JSON-safe; keys of `extra` (prompt, models, tier...) sit at top level.

    `inputs` are SourceInfo objects or dicts with `name` (or `path`), `sha256` and `format`; only the file
    name is kept, never the folder it came from.
    """
    w, h = (int(v) for v in size)
    md: dict[str, Any] = {
        "app": APP,
        "schema": SCHEMA,
        "version": __version__,
        "title": title,
        "style": str(style),
        "engine": str(engine),
        "seed": None if seed is None else int(seed),
        "size": [w, h],
        "inputs": [_input(i) for i in inputs],
        "bounds": None if bounds is None else [float(v) for v in bounds],
        "crs": crs,
    }
    for key, value in (extra or {}).items():
        if key in _CORE:
            raise ValueError(f"extra metadata may not replace {key!r}")
        md[key] = value
    json.dumps(md)  # fail here, not halfway through writing a file, when a value is not JSON-safe
    return md


def _input(source: Any) -> dict:
    get = source.get if isinstance(source, Mapping) else (lambda k, d=None: getattr(source, k, d))
    name = get("name") or os.path.basename(str(get("path") or ""))
    out = {"name": name, "sha256": get("sha256"), "format": get("format")}
    return {k: v for k, v in out.items() if v is not None}


def format_parameters(metadata: Mapping[str, Any]) -> str:
    """A1111/ComfyUI-style text: the prompt (if any) on its own lines, then `Key: value, Key: value`."""
    lines = []
    prompt = metadata.get("prompt")
    if isinstance(prompt, Mapping):
        negative = prompt.get("negative")
        prompt = prompt.get("positive") or prompt.get("text")
    else:
        negative = metadata.get("negative_prompt")
    if prompt:
        lines.append(str(prompt))
    if negative:
        lines.append(f"Negative prompt: {negative}")

    pairs: list[tuple[str, Any]] = [
        ("Title", metadata.get("title")),
        ("Style", metadata.get("style")),
        ("Engine", metadata.get("engine")),
        ("Seed", metadata.get("seed")),
        ("Size", _size(metadata.get("size"))),
        ("Steps", metadata.get("steps")),
        ("Model", _models(metadata.get("models"))),
        ("Tier", metadata.get("tier")),
        ("Upscale", _upscale(metadata.get("upscale"))),
        ("Inputs", _inputs(metadata.get("inputs"))),
        ("Bounds", _bounds(metadata.get("bounds"))),
        ("CRS", metadata.get("crs")),
        ("Version", f"{metadata.get('app', APP)} {metadata['version']}" if metadata.get("version") else None),
    ]
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in pairs if v not in (None, "", [])))
    return "\n".join(lines)


def _quote(value: Any) -> str:
    text = str(value)
    # A1111 convention: values that would break `Key: value, Key: value` parsing are JSON-quoted.
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in ',:"\n') else text


def _size(size: Any) -> str | None:
    if isinstance(size, list | tuple) and len(size) == 2:
        return f"{size[0]}x{size[1]}"
    return None


def _models(models: Any) -> str | None:
    if isinstance(models, str) or models is None:
        return models
    parts = []
    for m in models:
        if isinstance(m, Mapping):
            ident, variant = m.get("id") or m.get("name"), m.get("variant")
            parts.append(f"{ident} ({variant})" if variant else str(ident))
        else:
            parts.append(str(m))
    return " + ".join(parts) or None


def _upscale(grid: Any) -> str | None:
    """The upscale step's tile grid: "3x4 tiles of 1024 px, overlap 128, strength 0.3"."""
    if not isinstance(grid, Mapping) or "rows" not in grid:
        return None
    tile = grid.get("tile") or [0]
    text = f"{grid['rows']}x{grid.get('cols')} tiles of {tile[0]} px, overlap {grid.get('overlap')}"
    return text + (f", strength {grid['strength']}" if grid.get("strength") is not None else "")


def _inputs(inputs: Any) -> str | None:
    if not inputs:
        return None
    parts = []
    for i in inputs:
        digest = i.get("sha256")
        parts.append(f"{i.get('name')} (sha256 {digest[:12]}…)" if digest else str(i.get("name")))
    return "; ".join(parts)


def _bounds(bounds: Any) -> str | None:
    if not bounds:
        return None
    return " ".join(f"{v:.5f}" for v in bounds)
