"""The model catalog as typed, frozen data (what models.toml holds)."""

from __future__ import annotations

from dataclasses import dataclass, field

FAMILIES = ("z-image", "flux2-klein", "flux2")
ROLES = ("preview", "final", "controlnet")
FORMATS = ("diffusers", "gguf", "safetensors")
DEVICES = ("cpu", "mps", "cuda")
DTYPES = ("bf16", "fp32")
OFFLOADS = ("none", "model", "group", "sequential")
STAGES = ("preview", "final")


@dataclass(frozen=True)
class Component:
    """A set of files from one hub repo, shared by the variants that name it (text encoder, VAE...)."""

    name: str
    repo: str
    files: tuple[str, ...]  # exact paths, or folders ending in "/"
    description: str = ""
    size_gb: float | None = None


@dataclass(frozen=True)
class Variant:
    """One way to get a model: a diffusers folder, or a single GGUF/safetensors file plus components."""

    id: str
    label: str
    format: str  # diffusers | gguf | safetensors
    quant: str
    components: tuple[str, ...]
    repo: str  # repo of `file` (defaults to the model's repo)
    file: str | None = None  # the variant's own weights file (gguf / safetensors)
    size_gb: float | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    id: str
    name: str
    family: str
    role: str
    repo: str
    licence: str
    licence_url: str
    commercial_use: bool | None  # None: not confirmed
    gated: bool
    variants: dict[str, Variant]
    components: dict[str, Component] = field(default_factory=dict)
    pipeline: str = ""
    base_model: str | None = None  # for a ControlNet: the model it guides
    notes: str = ""
    steps: int | None = None  # its own step count when it stands in for a tier's default model

    def download_size(self, variant_id: str) -> tuple[float, bool]:
        """(GB of the parts whose size the catalog knows, whether every part's size is known)."""
        variant = self.variants[variant_id]
        parts = [variant.size_gb] if variant.file else []
        parts += [self.components[c].size_gb for c in variant.components]
        known = [p for p in parts if p is not None]
        return round(sum(known), 3), len(known) == len(parts)

    @property
    def licence_line(self) -> str:
        use = {True: "commercial use allowed", False: "NON-COMMERCIAL", None: "commercial use not confirmed"}
        return f"{self.licence} ({use[self.commercial_use]}) — {self.licence_url}"


@dataclass(frozen=True)
class OptionalModel:
    """An upgrade a tier's stage may offer: `model:variant`, or `model:variant@offload` when it needs more
    offload than the stage's own model (a bigger model on the same card)."""

    model: str
    variant: str
    offload: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.variant}"


@dataclass(frozen=True)
class StagePreset:
    stage: str  # preview | final
    enabled: bool
    reason: str = ""
    model: str | None = None
    variant: str | None = None
    dtype: str = "bf16"
    offload: str = "none"
    resolution: int = 1024
    steps: int = 4
    controlnet: bool = False
    min_ram_gb: float | None = None
    optional: tuple[OptionalModel, ...] = ()  # upgrades the UI and --final-model may pick


@dataclass(frozen=True)
class TierPreset:
    name: str
    label: str
    device: str  # cpu | mps | cuda
    preview: StagePreset
    final: StagePreset
    min_vram_gb: float | None = None


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelEntry]
    tiers: dict[str, TierPreset]
    path: str = ""

    def model(self, model_id: str) -> ModelEntry:
        return self.models[model_id]

    def controlnet_for(self, model_id: str) -> ModelEntry | None:
        for entry in self.models.values():
            if entry.role == "controlnet" and entry.base_model == model_id:
                return entry
        return None
