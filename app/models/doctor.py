"""`mapbrush doctor` and `mapbrush models list`: plain-text facts and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from app.models.download import human_bytes
from app.models.hardware import GIB, Hardware
from app.models.schema import Catalog
from app.models.store import ModelStore
from app.models.tiers import Tier


@dataclass(frozen=True)
class DoctorReport:
    facts: tuple[tuple[str, str], ...]  # (label, value)
    next_steps: tuple[str, ...]
    ok: bool  # both enabled stages have their models and nothing needs fixing

    def lines(self) -> list[str]:
        width = max((len(label) for label, _ in self.facts), default=0)
        out = [f"{label.ljust(width)}  {value}" for label, value in self.facts]
        if self.next_steps:
            out += ["", "What to do next:"] + [f"  - {step}" for step in self.next_steps]
        elif self.ok:
            out += ["", "Everything needed for the AI engines is in place."]
        return out


def diagnose(hardware: Hardware, catalog: Catalog, store: ModelStore, tier: Tier, speed=None) -> DoctorReport:
    """`speed` (app.models.speed.SpeedEstimate, measured on this machine): how long an image takes; where it takes
    minutes, that is said before any download is offered and the procedural engine stays the recommendation."""
    facts: list[tuple[str, str]] = []
    steps: list[str] = list(hardware.diagnosis())
    if hardware.gpus:
        for gpu in hardware.gpus:
            cc = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else "?"
            free = f", {gpu.free_vram / GIB:.1f} GB free" if gpu.free_vram is not None else ""
            bf16 = {True: "bf16", False: "no bf16", None: "bf16 unknown"}[gpu.bf16]
            facts.append((f"GPU {gpu.index}", f"{gpu.name}, {gpu.total_gib:.1f} GB VRAM{free}, compute {cc} ({bf16})"))
        driver = hardware.nvidia_driver or "unknown"
        if hardware.driver_cuda:
            driver += f" (supports CUDA up to {hardware.driver_cuda[0]}.{hardware.driver_cuda[1]})"
        facts.append(("NVIDIA driver", driver))
    else:
        facts.append(("GPU", f"no NVIDIA GPU found ({hardware.nvml_error})" if hardware.nvml_error else "none"))
    if hardware.apple_silicon:
        mps = {True: "available", False: "not available", None: "not checked"}[hardware.mps_available]
        facts.append(("Apple Metal (MPS)", mps))
    ram = f"{hardware.ram_total / GIB:.1f} GB" if hardware.ram_total else "unknown"
    if hardware.ram_available:
        ram += f" ({hardware.ram_available / GIB:.1f} GB available)"
    facts.append(("RAM", ram))
    facts.append(("PyTorch", _torch_line(hardware)))
    facts.append(
        ("Tier", f"{tier.name} — {tier.label} ({'chosen by you' if tier.chosen_by == 'override' else 'auto'})")
    )
    ready = True
    off = 0
    installed = store.installed()
    slow = speed is not None and speed.slow
    if speed is not None:
        facts.append(("Speed (estimate)", speed.line()))
    if slow:
        wanted = [(st.model, st.variant) for st in (tier.preview, tier.final) if st.enabled and st.model]
        missing_gb = sum(catalog.models[m].download_size(v)[0] for m, v in wanted
                         if not (installed.get((m, v)) and installed[(m, v)].ready))  # fmt: skip
        steps.append(speed.warning(missing_gb))
    for stage in (tier.preview, tier.final):
        if not stage.enabled:
            facts.append((f"{stage.name.title()} engine", f"off: {stage.reason}"))
            off += 1
            continue
        entry = catalog.models[stage.model]
        model = installed.get((stage.model, stage.variant))
        detail = f"{entry.name} {stage.variant}, {stage.dtype}, offload {stage.offload}, "
        detail += f"{stage.resolution}px, {stage.steps} steps"
        if model is not None and model.ready:
            facts.append((f"{stage.name.title()} engine", f"{detail} — installed"))
        else:
            ready = False
            missing = f" (missing: {', '.join(model.missing)})" if model is not None else ""
            facts.append((f"{stage.name.title()} engine", f"{detail} — NOT INSTALLED{missing}"))
            gb, _ = entry.download_size(stage.variant)
            how = f"mapbrush models download {stage.model} --variant {stage.variant}"
            if slow:
                steps.append(f"Only if you can wait that long, download the {stage.name} model ({gb:.1f} GB): {how}")
            else:
                steps.append(f"Download the {stage.name} model: {how}")
        if stage.controlnet:
            cn = catalog.controlnet_for(stage.model)
            if cn is not None and not store.ready_variants(cn.id):
                variant = next(iter(cn.variants))
                steps.append(
                    f"Optional, for structure-guided previews: mapbrush models download {cn.id} --variant {variant}"
                )
        for option in stage.optional:
            mid, variant = option.model, option.variant
            entry = catalog.models[mid]
            terms = "non-commercial licence" if entry.commercial_use is False else entry.licence
            have = bool(store.ready_variants(mid))
            how = f"use it with --final-model {mid}" if have else f"mapbrush models download {mid} --variant {variant}"
            state = "installed" if have else "not installed"
            facts.append((f"Optional {stage.name}", f"{entry.name} {variant} ({terms}) — {state}; {how}"))
    facts.append(("LoRAs", lora_line(catalog, store, tier)))
    usage = store.disk_usage()
    facts.append(
        ("Models folder", f"{usage.root} ({human_bytes(usage.used_bytes)} used, {human_bytes(usage.free_bytes)} free)")
    )
    if usage.partial_bytes:
        steps.append(f"{human_bytes(usage.partial_bytes)} of unfinished downloads: run the download again to resume")
    for note in tier.notes:
        if note not in steps:
            facts.append(("Note", note))
    if off == 2:
        ready = False
        steps.append(
            "No AI engine can run with this tier: leave out --tier (or the tier setting) to let MapBrush choose"
            if tier.chosen_by == "override"
            else "No AI engine can run on this machine; the procedural engine still paints every style"
        )
    steps = list(dict.fromkeys(steps))
    return DoctorReport(tuple(facts), tuple(steps), ok=ready and not hardware.diagnosis())


def lora_line(catalog: Catalog, store: ModelStore, tier: Tier) -> str:
    """How many LoRAs are imported, and whether they can be fused: not into a GGUF transformer (diffusers merges
    a LoRA only into plain weights), where they run unfused, a little slower."""
    from app.errors import InputError
    from app.models.loras import LoraLibrary

    try:
        n = len(LoraLibrary(store.root).list())
    except InputError as exc:
        return exc.one_line()
    gguf = []
    for stage in (tier.preview, tier.final):
        variant = catalog.models[stage.model].variants.get(stage.variant) if stage.enabled and stage.model else None
        if variant is not None and variant.format == "gguf":
            gguf.append(stage.name)
    line = f"{n} imported (mapbrush models loras)"
    if gguf:
        return line + (f"; on the {' and '.join(gguf)} engine's GGUF transformer they stay unfused (diffusers "
                       "cannot merge a LoRA into GGUF weights): they work, a little slower")  # fmt: skip
    return line + "; fused into the weights while the set stays the same"


def _torch_line(hw: Hardware) -> str:
    if not hw.torch_installed:
        return "not installed (AI engines unavailable)"
    build = f"CUDA {hw.torch_cuda}" if hw.torch_cuda else "CPU-only build"
    line = f"{hw.torch_version or '?'} ({build})"
    if hw.torch_probed:
        line += ", CUDA usable" if hw.torch_cuda_available else ", CUDA not usable"
    return line


MODEL_TABLE_HEADER = ("model", "variant", "role", "size", "licence", "installed")


def format_models_table(catalog: Catalog, store: ModelStore) -> list[tuple[str, ...]]:
    """Rows for `mapbrush models list`, header first: model id, variant, role, size, licence, installed."""
    rows: list[tuple[str, ...]] = [MODEL_TABLE_HEADER]
    installed = store.installed()
    for entry in catalog.models.values():
        licence = entry.licence + (
            "" if entry.commercial_use else " (non-commercial)" if entry.commercial_use is False else " (unconfirmed)"
        )
        for vid in entry.variants:
            gb, complete = entry.download_size(vid)
            size = f"{gb:.1f} GB" if complete else (f"≥{gb:.1f} GB" if gb else "unknown")
            model = installed.get((entry.id, vid))
            state = "no" if model is None else ("yes" if model.ready else "partly: " + ", ".join(model.missing))
            if model is not None and model.source == "import":
                state += " (imported)"
            rows.append((entry.id, vid, entry.role, size, licence, state))
        for (mid, vid), model in installed.items():
            if mid == entry.id and vid not in entry.variants:
                rows.append((mid, vid, entry.role, human_bytes(model.size_bytes), licence, "yes (imported)"))
    return rows
