"""What the person has chosen in the window (style, framing, layers, title, seed, AI options), as plain data.

No Qt here: the window edits a `Composition`, turns it into a `RenderRequest`, and restores one from the
`mapbrush` metadata of an exported PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.mapdata.layers import IMAGERY, LABELS, NOT_KINDS_PANEL, PANEL
from app.mapdata.model import Kind

SKETCH_LONG_SIDE = 1024
SQRT2 = math.sqrt(2.0)
# The framing's shapes: the print formats among them (A-series, 50×70 cm = 5:7, 18×24 in = 3:4, 24×36 in = 2:3,
# 8×10 in = 4:5) print on their paper without a border; app/ui/sizes.py turns one into export sizes.
ASPECTS: dict[str, tuple[float, float] | None] = {
    "Square": (1.0, 1.0),
    "4:3": (4.0, 3.0),
    "3:4": (3.0, 4.0),
    "3:2": (3.0, 2.0),
    "2:3": (2.0, 3.0),
    "5:4": (5.0, 4.0),
    "4:5": (4.0, 5.0),
    "16:9": (16.0, 9.0),
    "A-series portrait": (1.0, SQRT2),
    "A-series landscape": (SQRT2, 1.0),
    "50×70 cm portrait": (5.0, 7.0),
    "50×70 cm landscape": (7.0, 5.0),
    "Custom": None,
}
# The Layers panel: the non-overlapping layers of app/mapdata/layers.py (the names `--layers`/`--hide` take), then
# the imagery (pictures under the map) and the labels (street and place names, the overlay): not kinds.
LAYER_GROUPS: dict[str, frozenset[Kind]] = {p.name: frozenset(p.kinds) for p in PANEL} | {
    n: frozenset() for n in NOT_KINDS_PANEL
}


@dataclass(frozen=True)
class Composition:
    style: str = "watercolor"
    aspect: str = "4:3"
    custom_size: tuple[int, int] = (2400, 1800)  # the Size fields: the aspect's shape, free only for "Custom"
    margin: float = 0.06
    rotation: float = 0.0
    show_title: bool = True
    title: str = ""  # "" → the data's own title (app.mapdata.titles)
    show_subtitle: bool = True
    subtitle: str = ""  # "" → the default subtitle (the centre's coordinates, a track's length and climb)
    hidden: frozenset[str] = field(default_factory=frozenset)  # names of LAYER_GROUPS switched off
    seed: int | None = None  # used only when seed_locked
    seed_locked: bool = False
    creativity: float | None = None  # None → the style's default
    prompt_extra: str = ""
    prompt: str = ""  # "" → the style's prompt template; else the person's own prompt
    guide: str = "auto"  # preview guidance: "auto" | "img2img" | "controlnet"
    final_model: str = ""  # "model:variant" for the final stage; "" → the tier's
    frame_group: int = 0  # data in groups far apart: 0 → frame all of it, N → group N only
    terrain: bool = False  # relief under the map (elevation tiles)
    style_image: str = ""  # "paint it like this picture": a picture's path ("" → none)
    # imported LoRAs attached to styles: (style, LoRA id, weight, engine "preview"|"final"|""); the settings keep them
    loras: tuple[tuple[str, str, float, str], ...] = ()

    def with_(self, **changes: Any) -> Composition:
        return replace(self, **changes)

    def sketch_key(self) -> Composition:
        """This composition without the AI-only choices: what the procedural sketch depends on."""
        size = self.custom_size if self.aspect not in ASPECTS or ASPECTS[self.aspect] is None else (0, 0)
        return replace(
            self, creativity=None, prompt_extra="", prompt="", guide="auto", final_model="", custom_size=size, loras=()
        )

    def style_loras(self, style: str | None = None) -> list[tuple[str, float, str]]:
        """(id, weight, engine) of the LoRAs attached to `style` (the current one by default)."""
        style = style or self.style
        return [(lid, w, e) for s, lid, w, e in self.loras if s == style]

    def with_style_loras(self, items, style: str | None = None) -> Composition:
        style = style or self.style
        kept = tuple(x for x in self.loras if x[0] != style)
        return replace(self, loras=kept + tuple((style, lid, float(w), e) for lid, w, e in items))

    # ----- to a request ---------------------------------------------------------------------------
    def aspect_ratio(self) -> float:
        wh = ASPECTS.get(self.aspect)
        if wh is None:
            w, h = self.custom_size
            return max(w, 1) / max(h, 1)
        return wh[0] / wh[1]

    def size(self, long_side: int = SKETCH_LONG_SIDE) -> tuple[int, int]:
        """Pixel size with this framing's aspect and the given long side."""
        r = self.aspect_ratio()
        if r >= 1:
            return long_side, max(16, round(long_side / r))
        return max(16, round(long_side * r)), long_side

    def output_size(self) -> tuple[int, int]:
        """The Size fields' pixels: the long side set there, at this framing's aspect."""
        return self.size(max(self.custom_size))

    def kinds(self) -> frozenset[Kind] | None:
        off = frozenset().union(*(LAYER_GROUPS[g] for g in self.hidden if g in LAYER_GROUPS))
        return None if not off else frozenset(Kind) - off

    def request(self, inputs: list[Path], *, size: tuple[int, int] | None = None, engine: str = "procedural"):
        from app.jobs.render import RenderRequest
        from app.paths import user_styles_dir

        return RenderRequest(
            inputs=list(inputs),
            style=self.style,
            size=size or self.size(),
            engine=engine,
            title=(self.title.strip() or None) if self.show_title else "",
            subtitle=(self.subtitle.strip() or None) if self.show_subtitle else "",
            seed=self.seed if self.seed_locked else None,
            margin=self.margin,
            rotation=self.rotation,
            kinds=self.kinds(),
            labels=LABELS not in self.hidden,
            imagery=IMAGERY not in self.hidden,
            user_styles_dir=user_styles_dir(),
            frame=self.frame_group or None,
            terrain=self.terrain,
            style_image=Path(self.style_image) if self.style_image else None,
        )

    def ai_options(self, reference=None, reference_metadata: dict | None = None):
        from app.jobs.ai import AIOptions

        return AIOptions(
            reference_metadata=reference_metadata,
            creativity=self.creativity,
            prompt_extra=self.prompt_extra.strip(),
            prompt=self.prompt.strip() or None,
            reference=reference,
            guide=self.guide,
            final_model=self.final_model or None,
            loras=self.lora_specs(),
        )

    def lora_specs(self) -> tuple:
        """The current style's attached LoRAs as app.inference.lora.LoraSpec (ids, resolved when the stage runs)."""
        from app.inference.lora import LoraSpec  # torch-free

        return tuple(LoraSpec(Path(lid), w, e or None, ref=lid) for lid, w, e in self.style_loras())

    # ----- the settings file ----------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings, style: str) -> Composition:
        """The framing and layers the person left the window with (app.settings.Settings)."""
        aspect = settings.aspect if settings.aspect in ASPECTS else cls.aspect
        hidden = frozenset(n for n in settings.hidden_layers if n in LAYER_GROUPS)
        c = cls(style=style, aspect=aspect, custom_size=(settings.size[0], settings.size[1]), hidden=hidden,
                loras=loras_from_settings(getattr(settings, "style_loras", [])))  # fmt: skip
        return c.with_(custom_size=c.output_size())

    def remember(self, settings) -> None:
        """Note the choices that outlive the window in `settings` (saved on close and on export)."""
        settings.style, settings.aspect = self.style, self.aspect
        settings.size = list(self.output_size())
        settings.hidden_layers = sorted(self.hidden)
        settings.style_loras = [f"{s}:{lid}:{w:g}:{e}" for s, lid, w, e in self.loras]

    # ----- from a PNG's metadata ------------------------------------------------------------------
    @classmethod
    def from_metadata(cls, meta: dict, base: Composition | None = None) -> Composition:
        """The composition a MapBrush PNG was made with; what the metadata lacks comes from `base`."""
        c = base or cls()
        changes: dict[str, Any] = {}
        if isinstance(meta.get("style"), str):
            changes["style"] = meta["style"]
        size = meta.get("size")
        if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
            changes["aspect"] = aspect_name(size[0], size[1])
            changes["custom_size"] = (size[0], size[1])
        for key in ("margin", "rotation"):
            if isinstance(meta.get(key), int | float):
                changes[key] = float(meta[key])
        changes.update(_titles_from(meta))
        if isinstance(meta.get("seed"), int):
            changes["seed"], changes["seed_locked"] = meta["seed"], True
        changes["hidden"] = _hidden_from(meta.get("kinds"), meta.get("labels", True), meta.get("imagery", True))
        changes["terrain"] = "relief" in meta  # relief was asked for (its entry is None when it could not be drawn)
        changes["frame_group"] = meta["frame"] if isinstance(meta.get("frame"), int) and meta["frame"] > 0 else 0
        if isinstance(meta.get("creativity"), int | float):
            changes["creativity"] = float(meta["creativity"])
        return c.with_(**changes)


def loras_from_settings(entries: list[str]) -> tuple[tuple[str, str, float, str], ...]:
    """Settings' `style_loras` ("style:id:weight:engine") as Composition.loras; malformed entries are skipped."""
    out = []
    for entry in entries:
        parts = entry.split(":")
        if len(parts) != 4:
            continue
        try:
            out.append((parts[0], parts[1], float(parts[2]), parts[3] if parts[3] in ("preview", "final") else ""))
        except ValueError:
            continue
    return tuple(out)


def restore_extras(meta: dict, folders: list[Path], library, own_shas: set[str]) -> tuple[list, str, list[str]]:
    """What a PNG's metadata says about LoRAs and the style image, found on this computer.

    Returns ([(id, weight, engine)] of imported LoRAs matched by sha256 (the style's own, `own_shas`, left out:
    the style adds them itself), the style image's path ("" when none or not found) and one note per thing
    that could not be restored."""
    from app.models.loras import sha256_file

    notes: list[str] = []
    by_sha = {f.sha256: f for f in library.list()} if library is not None else {}
    loras: list[tuple[str, float, str]] = []
    stages = meta.get("stages") if isinstance(meta.get("stages"), dict) else {}
    for stage, info in stages.items():
        for rec in (info or {}).get("loras", []) if isinstance(info, dict) else []:
            if not isinstance(rec, dict) or rec.get("sha256") in own_shas:
                continue
            found = by_sha.get(rec.get("sha256"))
            weight = float(rec["weight"]) if isinstance(rec.get("weight"), int | float) else 1.0
            if found is None:
                notes.append(f"LoRA {rec.get('name', '?')} is not imported here (Models → LoRAs… imports it)")
            elif all(x[0] != found.id for x in loras):
                loras.append((found.id, weight, stage if stage in ("preview", "final") else ""))
    path = ""
    info = meta.get("style_image")
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        name = Path(info["name"]).name
        for folder in folders:
            cand = Path(folder) / name
            if cand.is_file() and (not info.get("sha256") or sha256_file(cand) == info["sha256"]):
                path = str(cand)
                break
        else:
            notes.append(f"the style image {name} was not found beside the picture")
    return loras, path, notes


def aspect_name(w: int, h: int) -> str:
    r = w / h
    for name, wh in ASPECTS.items():
        if wh is not None and abs(r - wh[0] / wh[1]) < 0.01:
            return name
    return "Custom"


def _titles_from(meta: dict) -> dict[str, Any]:
    """The title and subtitle fields as the picture asked for them: "title_mode"/"subtitle_mode" say default,
    none or custom (then "title"/"subtitle" hold the text). A PNG without them records only what was drawn: a
    text is kept as the person's own; no subtitle under a title means none was wanted (a default would have
    drawn one)."""
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    subtitle = meta.get("subtitle") if isinstance(meta.get("subtitle"), str) else ""
    out: dict[str, Any] = {}
    mode = meta.get("title_mode")
    if mode in ("default", "none"):
        out.update(show_title=mode == "default", title="")
    else:
        out.update(show_title=bool(title), title=title)
    mode = meta.get("subtitle_mode")
    if mode in ("default", "none"):
        out.update(show_subtitle=mode == "default", subtitle="")
    elif mode == "custom" or subtitle:
        out.update(show_subtitle=True, subtitle=subtitle)
    else:  # an older PNG: nothing drawn under a title is a subtitle turned off; without a title it tells nothing
        out.update(show_subtitle=not title, subtitle="")
    return out


def _hidden_from(kinds: Any, labels: Any, imagery: Any = True) -> frozenset[str]:
    hidden = set()
    if isinstance(kinds, list):
        shown = {k for k in kinds if isinstance(k, str)}
        for name, group in LAYER_GROUPS.items():
            if group and not ({k.value for k in group} & shown):
                hidden.add(name)
    if labels is False:
        hidden.add(LABELS)
    if imagery is False:
        hidden.add(IMAGERY)
    return frozenset(hidden)
