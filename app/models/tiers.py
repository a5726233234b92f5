"""Pick the tier preset that fits the hardware: a pure function of (hardware, presets, override)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from app.errors import InputError
from app.models.hardware import GIB, Hardware
from app.models.schema import Catalog, OptionalModel, StagePreset, TierPreset


@dataclass(frozen=True)
class Stage:
    """What one engine (preview or final) runs with on this machine."""

    name: str  # preview | final
    enabled: bool
    reason: str  # why it is disabled (empty when enabled)
    model: str | None
    variant: str | None
    dtype: str  # bf16 | fp32
    offload: str  # none | model | group | sequential
    resolution: int
    steps: int
    controlnet: bool
    optional: tuple[OptionalModel, ...] = ()


@dataclass(frozen=True)
class Tier:
    name: str
    label: str
    device: str  # cpu | mps | cuda
    preview: Stage
    final: Stage
    chosen_by: str  # "auto" | "override"
    notes: tuple[str, ...] = ()

    def stage(self, name: str) -> Stage:
        return {"preview": self.preview, "final": self.final}[name]


def choose_tier(hardware: Hardware, presets: Catalog | Mapping[str, TierPreset], override: str | None = None) -> Tier:
    """The tier for this machine, or the one named by `override` (error lists the valid names)."""
    tiers: Mapping[str, TierPreset] = presets.tiers if isinstance(presets, Catalog) else presets
    notes: list[str] = []
    if override:
        if override not in tiers:
            raise InputError(f"unknown tier '{override}'; choose one of: {', '.join(tiers)}")
        preset, chosen_by = tiers[override], "override"
    else:
        preset, chosen_by = _auto(hardware, tiers, notes), "auto"
    notes.extend(hardware.diagnosis())
    preview = _stage(preset.preview, preset, hardware, notes)
    final = _stage(preset.final, preset, hardware, notes)
    return Tier(preset.name, preset.label, preset.device, preview, final, chosen_by, tuple(dict.fromkeys(notes)))


# One step further down the offload scale: fp32 weights are twice bf16's (tests/bench/gpu_bench.py --fit).
MORE_OFFLOAD = {"none": "model", "model": "group", "group": "group", "sequential": "sequential"}


def _auto(hw: Hardware, tiers: Mapping[str, TierPreset], notes: list[str]) -> TierPreset:
    if hw.cuda_usable:
        fitting = [t for t in tiers.values() if t.device == "cuda" and (t.min_vram_gb or 0) <= hw.vram_gib]
        if fitting:
            return max(fitting, key=lambda t: t.min_vram_gb or 0)
        notes.append(f"{hw.best_gpu.name} has {hw.vram_gib:.1f} GB of VRAM, less than any GPU tier needs.")
    elif hw.gpus and hw.torch_is_cpu_only:
        notes.append("Running on the CPU because the installed PyTorch has no CUDA support.")
    if hw.apple_silicon and hw.mps_available is not False:
        mps = _first(tiers, "mps")
        if mps:
            return mps
    cpu = _first(tiers, "cpu")
    if cpu is None:
        raise InputError("models.toml has no cpu tier to fall back on")
    return cpu


def _first(tiers: Mapping[str, TierPreset], device: str) -> TierPreset | None:
    return next((t for t in tiers.values() if t.device == device), None)


def _stage(preset: StagePreset, tier: TierPreset, hw: Hardware, notes: list[str]) -> Stage:
    stage = Stage(
        name=preset.stage,
        enabled=preset.enabled,
        reason=preset.reason,
        model=preset.model,
        variant=preset.variant,
        dtype=preset.dtype,
        offload=preset.offload,
        resolution=preset.resolution,
        steps=preset.steps,
        controlnet=preset.controlnet,
        optional=preset.optional,
    )
    if not stage.enabled:
        return stage
    if tier.device == "cuda" and not hw.cuda_usable:
        return replace(stage, enabled=False, reason="This tier needs an NVIDIA GPU that PyTorch can use.")
    if tier.device == "mps" and not hw.apple_silicon:
        return replace(stage, enabled=False, reason="This tier needs an Apple Silicon Mac.")
    if preset.min_ram_gb and hw.ram_total is not None and hw.ram_total / GIB < preset.min_ram_gb * 0.95:
        return replace(
            stage,
            enabled=False,
            reason=f"Needs {preset.min_ram_gb:g} GB of RAM; this machine has {hw.ram_total / GIB:.1f} GB.",
        )
    if tier.device == "cuda" and stage.dtype == "bf16" and not hw.bf16:
        notes.append(
            "This GPU has no bf16 support (compute capability below 8.0): models run in fp32, which needs "
            "twice the memory, so more of them is offloaded to RAM. fp16 is not used because it gives black "
            "images with Z-Image."
        )
        upgrades = tuple(replace(o, offload=MORE_OFFLOAD[o.offload]) if o.offload else o for o in stage.optional)
        return replace(stage, dtype="fp32", offload=MORE_OFFLOAD[stage.offload], optional=upgrades)
    return stage
