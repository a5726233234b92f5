"""Style: a map look, as data (one TOML file in resources/styles/ or the user styles folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.render.layers import RasterSpec
from app.render.typography import Typography


@dataclass(frozen=True)
class EffectSpec:
    """One step of the style's effect chain: a function name in styles/effects.py and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptSpec:
    """What the AI engines use (issue 4). In the template `{map}` is replaced by what the map is ("city map of
    Helsinki", "world map"; app.jobs.ai.build_prompt) and `{place}` by the place name."""

    template: str = "a {map}"
    negative: str = ""
    creativity: float = 0.35  # 0 = keep the map geometry exactly, 1 = free
    fidelity_threshold: float = 0.5  # minimum map-fidelity score for --creativity auto


@dataclass(frozen=True)
class Style:
    name: str  # id, e.g. "watercolor"
    title: str  # display name, e.g. "Watercolor"
    description: str
    palette: dict[str, str]  # kind value (and "background", "paper", "ink", ...) → "#rrggbb"
    effects: tuple[EffectSpec, ...]
    typography: Typography
    raster: RasterSpec
    prompt: PromptSpec
    source: str = ""  # file it was loaded from
    loras: tuple = ()  # app.inference.lora.LoraSpec per AI engine, from the TOML's [[loras]]
