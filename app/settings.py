"""Typed, versioned user settings in a TOML file. Passed around explicitly, never a global."""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import get_args, get_type_hints

from app.paths import user_config_dir

SCHEMA = 2
FILE_NAME = "settings.toml"
log = logging.getLogger(__name__)


@dataclass
class Settings:
    schema: int = SCHEMA
    style: str = "watercolor"
    models_dir: str = ""  # "" → the default under the user data folder
    tier_override: str = ""  # "" → automatic
    export_dir: str = ""  # the folder of the last export
    theme: str = "system"  # "system" | "light" | "dark"
    recent_files: list[str] = field(default_factory=list)
    # the window's framing and layers (schema 2)
    aspect: str = "4:3"  # a name of app.ui.composition.ASPECTS
    size: list[int] = field(default_factory=lambda: [2400, 1800])  # the Size fields, pixels
    hidden_layers: list[str] = field(default_factory=list)  # Layers panel names switched off
    export_size: str = "window"  # the export dialog's last choice: "window" | "screen" | a paper name
    export_dpi: int = 300
    # network sources (app/sources): "" → the public instance; the MAPBRUSH_*_URL environment variables win
    nominatim_url: str = ""  # base URL; /search and /reverse are appended
    overpass_url: str = ""  # the Overpass interpreter URL
    terrain_url: str = ""  # an XYZ template of Terrarium PNG tiles with {z}/{x}/{y}
    cache_dir: str = ""  # "" → the user cache folder (env MAPBRUSH_CACHE_DIR)
    cache_max_age_days: int = 30  # fetched data older than this is fetched again (used offline when it must)
    model_cache_gb: int = 0  # GB of model weights kept resident; 0 → from the machine's RAM and VRAM
    style_loras: list[str] = field(default_factory=list)  # LoRAs attached to styles: "style:lora id:weight:engine"
    # Engines: where the AI stages run (app/backends/comfyui); the token lives in the OS keyring when there is one
    backend: str = "local"  # "local" (this computer) | "comfyui" (a ComfyUI server)
    comfyui_url: str = ""
    comfyui_headers: list[str] = field(default_factory=list)  # "Name: value"
    comfyui_verify_tls: bool = True
    comfyui_ca_file: str = ""  # a PEM file of the CA that signed the server's certificate ("" = the system's CAs)
    comfyui_token: str = ""  # only when no keyring works (app/backends/comfyui/tokens.py warns)

    @classmethod
    def path(cls, config_dir: Path | None = None) -> Path:
        return (config_dir or user_config_dir()) / FILE_NAME

    @classmethod
    def load(cls, config_dir: Path | None = None) -> Settings:
        """Load settings; a missing or unreadable file gives defaults (and a log line), never a crash."""
        path = cls.path(config_dir)
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            log.warning("ignoring unreadable settings file %s: %s", path, exc)
            return cls()
        return cls.from_dict(migrate(raw))

    @classmethod
    def from_dict(cls, raw: dict) -> Settings:
        known = {f.name: f for f in fields(cls)}
        hints = get_type_hints(cls)
        kept = {}
        defaults = cls()
        for key, value in raw.items():
            if key not in known:
                continue
            default = getattr(defaults, key)
            if isinstance(default, list):
                (item,) = get_args(hints[key])
                ok = isinstance(value, list) and all(type(v) is item for v in value)
                ok = ok and (key != "size" or (len(value) == 2 and all(16 <= v <= 16384 for v in value)))
            else:
                ok = type(value) is type(default)
                ok = ok and (key != "model_cache_gb" or 0 <= value <= 4096)
            if ok:
                kept[key] = value
            else:
                log.warning("settings: ignoring %s=%r (expected %s)", key, value, type(default).__name__)
        return cls(**kept)

    def save(self, config_dir: Path | None = None) -> Path:
        """Write atomically (temp file + rename)."""
        import tomli_w

        path = self.path(config_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                tomli_w.dump(asdict(self), fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def add_recent(self, file: str, limit: int = 10) -> None:
        self.recent_files = [file] + [f for f in self.recent_files if f != file]
        del self.recent_files[limit:]


def migrate(raw: dict) -> dict:
    """Bring an older settings dict up to SCHEMA. Each schema bump adds one step here."""
    version = raw.get("schema", 0)
    if not isinstance(version, int) or version > SCHEMA:
        log.warning("settings from a newer MapBrush (schema %r); reading what is understood", version)
        return {**raw, "schema": SCHEMA}
    if version < 1:  # schema 0 (pre-release) called the style "default_style"
        raw = dict(raw)
        if "default_style" in raw:
            raw["style"] = raw.pop("default_style")
        raw["schema"] = 1
    if raw["schema"] < 2:  # schema 2 added the window's aspect, size, hidden layers and export choice
        raw = {**raw, "schema": 2}
    return raw
