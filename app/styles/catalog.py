"""Style catalog: builtin styles (resources/styles/*.toml) plus the person's own style files.

A user style file adds a style or replaces a builtin one of the same name. With `base = "name"`
it starts from another style and changes only what it lists (tables are merged key by key,
`effects` is replaced as a whole).

A style may name LoRAs for the AI engines, each a local `.safetensors` file (relative to the style
file) with a weight; `mapbrush render --lora` adds more on top:

    [[loras]]
    engine = "final"            # "preview" (Z-Image) or "final" (FLUX.2 Klein)
    path = "loras/ink-wash.safetensors"
    weight = 0.8                # -2..2, default 1; 0 has no effect

or, instead of `path`, `id = "ink-wash"`: a LoRA imported with `mapbrush models loras import FILE`
(or `id = "hub:owner/repo/file.safetensors"` once imported from the hub).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.mapdata.model import Kind
from app.paths import resource_root
from app.render.layers import RasterSpec
from app.render.tracks import track_palette
from app.render.typography import Typography
from app.styles.canvas import is_colour, is_selector, parse_colour
from app.styles.effects import EFFECTS
from app.styles.model import EffectSpec, PromptSpec, Style

REQUIRED = ("name", "title", "description", "palette", "effects")
TABLES = ("typography", "raster", "prompt")
OPTIONAL = ("loras",)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_CHOICES = {
    "mode": ("normal", "multiply", "screen"),
    "draw": ("wash", "shade", "contours", "hachure"),  # the relief effect
    "source": ("mask", "lineart", "borders"),
    "cartouche": ("none", "box", "banner", "ornate"),
    "north_arrow": ("none", "simple", "compass"),
}


class _Bad(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def builtin_dir() -> Path:
    return resource_root() / "styles"


def load_styles(user_dir: Path | None = None, *, errors: list[InputError] | None = None) -> dict[str, Style]:
    """All styles by name, builtin first, then user files (which add or override by name).

    A broken user file raises InputError, or, when `errors` is a list, is skipped and reported there.
    """
    raw: dict[str, tuple[dict, Path]] = {}
    styles: dict[str, Style] = {}
    for path in sorted(builtin_dir().glob("*.toml")):
        doc = _read(path)
        styles[_name_of(doc, path)] = _build(doc, path)
        raw[doc["name"]] = (doc, path)
    if user_dir is None or not Path(user_dir).is_dir():
        return styles
    seen: dict[str, Path] = {}
    for path in sorted(Path(user_dir).glob("*.toml")):
        try:
            doc = _read(path)
            if "base" in doc:
                doc = _merge_base(doc, raw, path)
            name = _name_of(doc, path)
            if name in seen:
                raise InputError(f"style {name!r} is also defined in {seen[name].name}", path=str(path))
            styles[name] = _build(doc, path)
            seen[name] = path
        except InputError as e:
            if errors is None:
                raise
            errors.append(e)
    return styles


def get_style(name: str, user_dir: Path | None = None) -> Style:
    styles = load_styles(user_dir)
    if name not in styles:
        raise InputError(f"unknown style {name!r} (available: {', '.join(sorted(styles))})")
    return styles[name]


def style_from_doc(doc: dict, path: Path) -> Style:
    """A style from a document in memory, as a user style file at `path` would hold it (`base` included)."""
    if "base" in doc:
        raw = {}
        for p in sorted(builtin_dir().glob("*.toml")):
            d = _read(p)
            raw[d.get("name")] = (d, p)
        doc = _merge_base(doc, raw, path)
    _name_of(doc, path)
    return _build(doc, path)


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not a valid TOML file: {e}", path=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read the style file: {e.strerror}", path=str(path)) from None


def _name_of(doc: dict, path: Path) -> str:
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problem = "missing" if name is None else f"{name!r} is not a style id (lowercase letters, digits, - and _)"
        raise InputError(f"name: {problem}", path=str(path))
    return name


def _merge_base(doc: dict, raw: dict[str, tuple[dict, Path]], path: Path) -> dict:
    base = doc["base"]
    if base not in raw:
        raise InputError(f"base: unknown builtin style {base!r} (available: {', '.join(sorted(raw))})", path=str(path))
    merged = dict(raw[base][0])
    for key, value in doc.items():
        if key == "base":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = dict(merged[key])
            for k, v in value.items():
                inner[k] = {**inner[k], **v} if isinstance(v, dict) and isinstance(inner.get(k), dict) else v
            merged[key] = inner
        else:
            merged[key] = value
    return merged


def _build(doc: dict, path: Path) -> Style:
    try:
        return _style(doc, path)
    except _Bad as e:
        raise InputError(str(e), path=str(path)) from None


def _style(doc: dict, path: Path) -> Style:
    for key in doc:
        if key not in (*REQUIRED, *TABLES, *OPTIONAL):
            raise _Bad(key, f"unknown key (expected {', '.join((*REQUIRED, *TABLES, *OPTIONAL))})")
    for key in REQUIRED:
        if key not in doc:
            raise _Bad(key, "missing")
    for key in ("title", "description"):
        if not isinstance(doc[key], str):
            raise _Bad(key, "must be text")
    palette = _palette(doc["palette"])
    effects = _with_generic(_effects(doc["effects"], palette), palette)
    return Style(
        name=doc["name"],
        title=doc["title"],
        description=doc["description"],
        palette=palette,
        effects=effects,
        typography=dataclasses.replace(_typography(_table(doc, "typography")), track_colors=track_palette(palette)),
        raster=_raster(_table(doc, "raster")),
        prompt=_prompt(_table(doc, "prompt")),
        source=str(path),
        loras=_loras(doc.get("loras", []), path),
    )


def _loras(value: Any, path: Path) -> tuple:
    """`[[loras]]`: engine, path (relative to the style file) or id (an imported LoRA, hub:…), weight."""
    from app.inference.lora import LoraSpec

    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise _Bad("loras", "must be an array of tables ([[loras]] with engine, path, weight)")
    out = []
    for i, t in enumerate(value, 1):
        field = f"loras[{i}]"
        unknown = set(t) - {"engine", "path", "id", "weight"}
        if unknown:
            raise _Bad(f"{field}.{sorted(unknown)[0]}", "unknown key (known: engine, path, id, weight)")
        if t.get("engine") not in ("preview", "final"):
            raise _Bad(f"{field}.engine", f'{t.get("engine")!r} must be "preview" or "final"')
        weight = t.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not -2 <= weight <= 2:
            raise _Bad(f"{field}.weight", f"{weight!r} must be a number between -2 and 2")
        if "id" in t:  # an imported LoRA (`mapbrush models loras`) or hub:owner/repo/file, resolved when it runs
            ref = t["id"]
            if "path" in t or not isinstance(ref, str) or not ref.strip():
                raise _Bad(f"{field}.id", "give either path or id: an imported LoRA's id, or hub:owner/repo/file")
            out.append(LoraSpec(Path(ref), float(weight), t["engine"], ref=ref.strip()))
            continue
        file = t.get("path")
        if not isinstance(file, str) or not file:
            raise _Bad(f"{field}.path", "must be the path of a .safetensors file")
        if not file.lower().endswith(".safetensors"):
            raise _Bad(f"{field}.path", f"{file!r}: only .safetensors LoRAs are loaded (never pickle files)")
        full = Path(file).expanduser()
        full = full if full.is_absolute() else Path(path).parent / full
        out.append(LoraSpec(full, float(weight), t["engine"]))
    return tuple(out)


def _table(doc: dict, key: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise _Bad(key, "must be a table")
    return value


def _palette(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Bad("palette", "must be a table of name = '#rrggbb'")
    for k, v in value.items():
        if not is_colour(v):
            raise _Bad(f"palette.{k}", f"{v!r} is not a colour (use '#rrggbb')")
    if "paper" not in value and "background" not in value:
        raise _Bad("palette.paper", "missing (the colour the painting starts from)")
    return dict(value)


def _effects(value: Any, palette: dict[str, str]) -> tuple[EffectSpec, ...]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise _Bad("effects", "must be a list of [[effects]] tables")
    out = []
    for i, entry in enumerate(value):
        where = f"effects[{i}]"
        name = entry.get("name")
        if name not in EFFECTS:
            problem = "missing" if name is None else f"unknown effect {name!r}"
            raise _Bad(f"{where}.name", f"{problem} (available: {', '.join(sorted(EFFECTS))})")
        defaults = EFFECTS[name].defaults
        params = {k: v for k, v in entry.items() if k != "name"}
        for key, v in params.items():
            field = f"{where}.{key}"
            if key not in defaults:
                raise _Bad(field, f"unknown parameter of {name!r} (known: {', '.join(sorted(defaults))})")
            _check_param(field, key, v, defaults[key], palette)
        out.append(EffectSpec(name, params))
    return tuple(out)


# Data without map tags (kinds admin and other: countries, census blocks, a drawn route, plain points) is
# painted by every style. A style none of whose effects names "other" (or "marks") gets this treatment:
# its areas filled with the palette's `area` colour, a tint per area, each area's border in `area_line`,
# lines and points in `mark`. Missing palette keys default to a light mix of ink into the paper and to ink.
GENERIC_SELECTORS = ("other", "marks")
_GENERIC_UNDER = (  # laid first, under everything the style draws (after a leading "background")
    EffectSpec("fill", {"kinds": ["admin", "other"], "color": "area"}),
    EffectSpec("patchwork", {"kinds": ["admin", "other"], "amount": 0.06}),
    EffectSpec("outline", {"kinds": ["admin", "other"], "source": "borders", "color": "area_line", "width": 0.9}),
)
_GENERIC_OVER = (EffectSpec("fill", {"kinds": ["marks"], "color": "mark"}),)  # last, over everything


def _with_generic(effects: tuple[EffectSpec, ...], palette: dict[str, str]) -> tuple[EffectSpec, ...]:
    """`effects`, with the default treatment of data without map tags when the style gives it none."""
    for spec in effects:
        kinds = spec.params.get("kinds", EFFECTS[spec.name].defaults.get("kinds", ()))
        if any(s in GENERIC_SELECTORS for s in kinds or ()):
            return effects
    ink = palette.get("ink", "#000000")
    palette.setdefault("area", _mix(palette.get("paper", palette.get("background", "#ffffff")), ink, 0.12))
    palette.setdefault("area_line", ink)
    palette.setdefault("mark", ink)
    lead = 0
    while lead < len(effects) and effects[lead].name == "background":
        lead += 1
    return (*effects[:lead], *_GENERIC_UNDER, *effects[lead:], *_GENERIC_OVER)


def _mix(a: str, b: str, t: float) -> str:
    rgb = parse_colour(a) * (1 - t) + parse_colour(b) * t
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in rgb)


def _check_param(field: str, key: str, v: Any, default: Any, palette: dict[str, str]) -> None:
    if key == "color" or key.endswith("_color"):
        if not (isinstance(v, str) and (is_colour(v) or v in palette)):
            raise _Bad(field, f"{v!r} is neither a colour nor a palette name")
    elif key == "kinds":
        if not isinstance(v, list) or not v or not all(isinstance(s, str) and is_selector(s) for s in v):
            raise _Bad(field, f"{v!r} must be a non-empty list of kinds or groups")
    else:
        _check_value(field, key, v, default)


def _check_value(field: str, key: str, v: Any, default: Any) -> None:
    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise _Bad(field, f"{v!r} must be true or false")
    elif isinstance(default, int | float):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _Bad(field, f"{v!r} must be a number")
        if isinstance(default, int) and not isinstance(v, int):
            raise _Bad(field, f"{v!r} must be a whole number")
    elif isinstance(default, str):
        if not isinstance(v, str):
            raise _Bad(field, f"{v!r} must be text")
        if key in _CHOICES and v not in _CHOICES[key]:
            raise _Bad(field, f"{v!r} must be one of {', '.join(_CHOICES[key])}")


def _typography(t: dict) -> Typography:
    fields = {f.name: f.default for f in dataclasses.fields(Typography)}
    for key, v in t.items():
        field = f"typography.{key}"
        if key not in fields or key == "track_colors":
            if key == "track_colors":
                raise _Bad(field, "tracks' colours are set in [palette] as track, track2, track3…")
            raise _Bad(field, f"unknown key (known: {', '.join(f for f in fields if f != 'track_colors')})")
        if key.endswith("_color") or key in ("ink", "cartouche_fill"):
            if not is_colour(v):
                raise _Bad(field, f"{v!r} is not a colour (use '#rrggbb')")
        else:
            _check_value(field, key, v, fields[key])
        if key.endswith("_font"):
            _check_font(field, v)
    return Typography(**{k: float(v) if isinstance(fields[k], float) else v for k, v in t.items()})


def _check_font(field: str, name: str) -> None:
    fonts = resource_root() / "fonts"
    if Path(name).is_absolute() and Path(name).is_file():
        return
    if fonts.is_dir() and any(fonts.iterdir()) and not (fonts / name).is_file():
        known = sorted(p.name for p in fonts.iterdir() if p.suffix.lower() in (".ttf", ".otf"))
        raise _Bad(field, f"no font {name!r} in resources/fonts (available: {', '.join(known)})")


def _raster(t: dict) -> RasterSpec:
    for key in t:
        if key not in ("width_scale", "widths"):
            raise _Bad(f"raster.{key}", "unknown key (known: width_scale, widths)")
    scale = t.get("width_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < 20:
        raise _Bad("raster.width_scale", f"{scale!r} must be a number between 0 and 20")
    widths_in = t.get("widths", {})
    if not isinstance(widths_in, dict):
        raise _Bad("raster.widths", "must be a table of kind = width")
    widths: dict[Kind, float] = {}
    for key, v in widths_in.items():
        if key not in Kind._value2member_map_:
            raise _Bad(f"raster.widths.{key}", f"unknown kind (known: {', '.join(k.value for k in Kind)})")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 500:
            raise _Bad(f"raster.widths.{key}", f"{v!r} must be a width in px (0 or more)")
        widths[Kind(key)] = float(v)
    return RasterSpec(width_scale=float(scale), widths=widths)


def _prompt(t: dict) -> PromptSpec:
    fields = {f.name: f.default for f in dataclasses.fields(PromptSpec)}
    for key, v in t.items():
        field = f"prompt.{key}"
        if key not in fields:
            raise _Bad(field, f"unknown key (known: {', '.join(fields)})")
        _check_value(field, key, v, fields[key])
        if key in ("creativity", "fidelity_threshold") and not 0 <= v <= 1:
            raise _Bad(field, f"{v!r} must be between 0 and 1")
    template = t.get("template", PromptSpec.template)
    try:
        template.format(place="x", map="x")
    except (KeyError, IndexError, ValueError):
        raise _Bad("prompt.template", "only {map} and {place} may appear in braces") from None
    return PromptSpec(**{k: float(v) if isinstance(fields[k], float) else v for k, v in t.items()})
