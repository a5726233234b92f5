"""Load and validate models.toml. Every error names the key that is wrong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.models.schema import (
    DEVICES,
    DTYPES,
    FAMILIES,
    FORMATS,
    OFFLOADS,
    ROLES,
    STAGES,
    Catalog,
    Component,
    ModelEntry,
    OptionalModel,
    StagePreset,
    TierPreset,
    Variant,
)

SCHEMA_VERSION = 1
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

_MODEL_KEYS = {
    "name", "family", "role", "pipeline", "repo", "licence", "licence_url", "commercial_use",
    "gated", "notes", "base_model", "components", "variants", "steps",
}  # fmt: skip
_COMPONENT_KEYS = {"description", "files", "size_gb", "repo"}
_VARIANT_KEYS = {"label", "format", "quant", "repo", "file", "size_gb", "sha256", "components"}
_TIER_KEYS = {"label", "device", "min_vram_gb", "preview", "final"}
_STAGE_KEYS = {
    "enabled", "reason", "model", "variant", "dtype", "offload", "resolution", "steps",
    "controlnet", "min_ram_gb", "optional",
}  # fmt: skip


class CatalogError(InputError):
    """models.toml is malformed; the message starts with the dotted key at fault."""


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate models.toml (default: `app.paths.models_toml()`)."""
    if path is None:
        from app.paths import models_toml

        path = models_toml()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError("the model catalog is missing", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"not valid TOML: {exc}", path=str(path)) from None
    return parse_catalog(data, path=str(path))


def parse_catalog(data: dict[str, Any], *, path: str = "models.toml") -> Catalog:
    r = _Reader(path)
    r.keys(data, "", {"schema_version", "models", "tiers"})
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        r.fail("schema_version", f"expected {SCHEMA_VERSION}, found {version!r}")
    models = {mid: _model(r, mid, raw) for mid, raw in r.table(data, "", "models", required=True).items()}
    for mid, entry in models.items():
        if entry.base_model is not None and entry.base_model not in models:
            r.fail(f"models.{mid}.base_model", f"no model '{entry.base_model}' in the catalog")
    tiers = {name: _tier(r, name, raw, models) for name, raw in r.table(data, "", "tiers", required=True).items()}
    if not tiers:
        r.fail("tiers", "at least one tier is needed")
    return Catalog(models=models, tiers=tiers, path=path)


class _Reader:
    """Typed access to raw TOML values; every failure names the dotted key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, problem: str):
        raise CatalogError(f"{key}: {problem}", path=self.path)

    def keys(self, raw: dict, prefix: str, allowed: set[str]) -> None:
        for key in raw:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def table(self, raw: dict, prefix: str, key: str, *, required: bool = False) -> dict:
        where = f"{prefix}.{key}" if prefix else key
        if key not in raw:
            if required:
                self.fail(where, "missing")
            return {}
        value = raw[key]
        if not isinstance(value, dict):
            self.fail(where, "must be a table")
        for name in value:
            if not _ID.match(name):
                self.fail(f"{where}.{name}", "names use lower-case letters, digits, '-', '_' and '.'")
        return value

    def get(self, raw: dict, prefix: str, key: str, kind: type | tuple, *, default: Any = ..., choices=None):
        where = f"{prefix}.{key}"
        if key not in raw:
            if default is ...:
                self.fail(where, "missing")
            return default
        value = raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            self.fail(where, f"must be {_kind_name(kinds)}, not true/false")
        if not isinstance(value, kinds):
            self.fail(where, f"must be {_kind_name(kinds)}, found {value!r}")
        if choices is not None and value not in choices:
            self.fail(where, f"'{value}' is not one of: {', '.join(map(str, choices))}")
        return value

    def str_list(self, raw: dict, prefix: str, key: str, *, default: Any = ...) -> tuple[str, ...]:
        value = self.get(raw, prefix, key, list, default=default)
        if not all(isinstance(v, str) and v for v in value):
            self.fail(f"{prefix}.{key}", "must be a list of non-empty strings")
        return tuple(value)

    def number(self, raw: dict, prefix: str, key: str, *, default: Any = ..., low: float = 0.0):
        value = self.get(raw, prefix, key, (int, float), default=default)
        if value is not None and value < low:
            self.fail(f"{prefix}.{key}", f"must be at least {low}")
        return None if value is None else float(value)


def _kind_name(kinds: tuple) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _model(r: _Reader, mid: str, raw: dict) -> ModelEntry:
    p = f"models.{mid}"
    if not isinstance(raw, dict):
        r.fail(p, "must be a table")
    r.keys(raw, p, _MODEL_KEYS)
    repo = r.get(raw, p, "repo", str)
    if not _REPO.match(repo):
        r.fail(f"{p}.repo", f"'{repo}' is not an owner/name hub repo")
    commercial = raw.get("commercial_use", ...)
    if commercial is ... or commercial not in (True, False, "unknown"):
        r.fail(f"{p}.commercial_use", 'must be true, false or "unknown"')
    components = {}
    for cname, craw in r.table(raw, p, "components").items():
        cp = f"{p}.components.{cname}"
        if not isinstance(craw, dict):
            r.fail(cp, "must be a table")
        r.keys(craw, cp, _COMPONENT_KEYS)
        files = r.str_list(craw, cp, "files")
        if not files:
            r.fail(f"{cp}.files", "must list at least one file or folder")
        crepo = r.get(craw, cp, "repo", str, default=repo)
        components[cname] = Component(
            name=cname,
            repo=crepo,
            files=files,
            description=r.get(craw, cp, "description", str, default=""),
            size_gb=r.number(craw, cp, "size_gb", default=None),
        )
    variants = {vid: _variant(r, f"{p}.variants.{vid}", vid, vraw, repo, components) for vid, vraw in
                r.table(raw, p, "variants", required=True).items()}  # fmt: skip
    if not variants:
        r.fail(f"{p}.variants", "at least one variant is needed")
    role = r.get(raw, p, "role", str, choices=ROLES)
    base_model = r.get(raw, p, "base_model", str, default=None)
    if role == "controlnet" and base_model is None:
        r.fail(f"{p}.base_model", "a controlnet names the model it guides")
    steps = r.get(raw, p, "steps", int, default=None)
    if steps is not None and not 1 <= steps <= 100:
        r.fail(f"{p}.steps", "must be between 1 and 100")
    return ModelEntry(
        id=mid,
        name=r.get(raw, p, "name", str),
        family=r.get(raw, p, "family", str, choices=FAMILIES),
        role=role,
        repo=repo,
        licence=r.get(raw, p, "licence", str),
        licence_url=r.get(raw, p, "licence_url", str),
        commercial_use=None if commercial == "unknown" else commercial,
        gated=r.get(raw, p, "gated", bool),
        variants=variants,
        components=components,
        pipeline=r.get(raw, p, "pipeline", str, default=""),
        base_model=base_model,
        notes=r.get(raw, p, "notes", str, default=""),
        steps=steps,
    )


def _variant(r: _Reader, p: str, vid: str, raw: dict, repo: str, components: dict) -> Variant:
    if not isinstance(raw, dict):
        r.fail(p, "must be a table")
    r.keys(raw, p, _VARIANT_KEYS)
    fmt = r.get(raw, p, "format", str, choices=FORMATS)
    file = r.get(raw, p, "file", str, default=None)
    if fmt == "diffusers" and file is not None:
        r.fail(f"{p}.file", "a diffusers variant is a folder of components, not one file")
    if fmt != "diffusers":
        if file is None:
            r.fail(f"{p}.file", f"missing (a {fmt} variant is one file)")
        if not file.endswith("." + fmt):
            r.fail(f"{p}.file", f"'{file}' does not end in .{fmt}")
    names = r.str_list(raw, p, "components")
    for name in names:
        if name not in components:
            r.fail(f"{p}.components", f"no component '{name}' in this model")
    sha = r.get(raw, p, "sha256", str, default=None)
    if sha is not None and not _SHA256.match(sha):
        r.fail(f"{p}.sha256", "must be 64 lower-case hex digits")
    vrepo = r.get(raw, p, "repo", str, default=repo)
    if not _REPO.match(vrepo):
        r.fail(f"{p}.repo", f"'{vrepo}' is not an owner/name hub repo")
    return Variant(
        id=vid,
        label=r.get(raw, p, "label", str),
        format=fmt,
        quant=r.get(raw, p, "quant", str),
        components=names,
        repo=vrepo,
        file=file,
        size_gb=r.number(raw, p, "size_gb", default=None),
        sha256=sha,
    )


def _tier(r: _Reader, name: str, raw: dict, models: dict[str, ModelEntry]) -> TierPreset:
    p = f"tiers.{name}"
    if not isinstance(raw, dict):
        r.fail(p, "must be a table")
    r.keys(raw, p, _TIER_KEYS)
    device = r.get(raw, p, "device", str, choices=DEVICES)
    min_vram = r.number(raw, p, "min_vram_gb", default=None)
    if device == "cuda" and min_vram is None:
        r.fail(f"{p}.min_vram_gb", "missing (a cuda tier is chosen by VRAM)")
    stages = {s: _stage(r, f"{p}.{s}", s, r.table(raw, p, s, required=True), models) for s in STAGES}
    return TierPreset(
        name=name,
        label=r.get(raw, p, "label", str),
        device=device,
        preview=stages["preview"],
        final=stages["final"],
        min_vram_gb=min_vram,
    )


def _stage(r: _Reader, p: str, stage: str, raw: dict, models: dict[str, ModelEntry]) -> StagePreset:
    r.keys(raw, p, _STAGE_KEYS)
    enabled = r.get(raw, p, "enabled", bool, default=True)
    if not enabled:
        reason = r.get(raw, p, "reason", str, default="")
        if not reason.strip():
            r.fail(f"{p}.reason", "a disabled stage needs a reason to show the person")
        return StagePreset(stage=stage, enabled=False, reason=reason)
    model_id = r.get(raw, p, "model", str)
    entry = models.get(model_id)
    if entry is None:
        r.fail(f"{p}.model", f"no model '{model_id}' in the catalog")
    if entry.role != stage:
        r.fail(f"{p}.model", f"model {model_id} has role '{entry.role}', not '{stage}'")
    variant = r.get(raw, p, "variant", str)
    if variant not in entry.variants:
        r.fail(f"{p}.variant", f"no variant '{variant}' in model {model_id}")
    controlnet = r.get(raw, p, "controlnet", bool, default=False)
    if controlnet and not any(m.role == "controlnet" and m.base_model == model_id for m in models.values()):
        r.fail(f"{p}.controlnet", f"no controlnet model in the catalog guides {model_id}")
    optional = []
    for ref in r.str_list(raw, p, "optional", default=()):
        pair, _, offload = ref.partition("@")
        oid, _, ovar = pair.partition(":")
        if oid not in models or ovar not in models[oid].variants or models[oid].role != stage:
            r.fail(f"{p}.optional", f"'{ref}' is not a {stage} model:variant in the catalog")
        if offload and offload not in OFFLOADS:
            r.fail(f"{p}.optional", f"'{ref}': offload must be one of {', '.join(OFFLOADS)}")
        optional.append(OptionalModel(oid, ovar, offload or None))
    resolution = r.get(raw, p, "resolution", int)
    if not 256 <= resolution <= 4096 or resolution % 16:
        r.fail(f"{p}.resolution", "must be a multiple of 16 between 256 and 4096")
    steps = r.get(raw, p, "steps", int)
    if not 1 <= steps <= 100:
        r.fail(f"{p}.steps", "must be between 1 and 100")
    dtype = raw.get("dtype")
    if dtype == "fp16":
        r.fail(f"{p}.dtype", "fp16 is not allowed: Z-Image gives black/NaN images in fp16; use bf16 or fp32")
    return StagePreset(
        stage=stage,
        enabled=True,
        model=model_id,
        variant=variant,
        dtype=r.get(raw, p, "dtype", str, choices=DTYPES),
        offload=r.get(raw, p, "offload", str, choices=OFFLOADS),
        resolution=resolution,
        steps=steps,
        controlnet=controlnet,
        min_ram_gb=r.number(raw, p, "min_ram_gb", default=None),
        optional=tuple(optional),
    )
