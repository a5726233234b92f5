"""The preview and final stages on a ComfyUI server, with the interface of app.jobs.ai.Engines.

`ComfyEngines.run(stage, …)` builds the stage's graph (graphs.py), checks the server has what it needs
(preflight.py: /models/<folder> lists, else object_info's), uploads the sketch / structure / reference, queues the
graph, turns the websocket's `progress` messages into our Progress calls, and returns the picture; jobs/render.py
then finishes it locally (crisp overlay, metadata) as for the local engines. A cancel interrupts our prompt and
deletes it from the server's queue.

The tier on a server: the models.toml preset named by `--tier` (ServerConfig.tier), else the CUDA preset for the
server's VRAM (/system_stats). The preset gives each stage its model, resolution and steps, and its variant is the
preferred one: the server runs it when it has its files, else the nearest variant it has — smaller ones first
(further down models.toml's list), then larger — and the stage's notes say which it ran. A variant asked for by name
(`--final-model model:variant`) is run as asked, or refused. How this computer's GPU would fare does not matter.
Repainting a region and upscaling for print run on this computer only.
No Qt, no torch.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np

from app.backends.comfyui import graphs, preflight
from app.backends.comfyui.client import ComfyClient, ServerConfig
from app.errors import InputError, ModelUnavailable
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress

STAGES = ("preview", "final")
_DEFAULT_TIER = "cuda-24gb"


@dataclass
class StageOutcome:  # the shape of app.jobs.ai.StageResult, without importing the jobs layer
    image: np.ndarray
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class ComfyEngines:
    """Engines on a ComfyUI server. `tier` is the models.toml preset whose models, steps and sizes the graphs use
    (None → chosen from the server's VRAM in /system_stats)."""

    def __init__(self, config: ServerConfig, *, tier: str | None = None, catalog=None) -> None:
        from app.models.catalog import load_catalog

        self.config = config
        self.client = ComfyClient(config)
        self.catalog = catalog or load_catalog()
        self._tier_name = tier or config.tier
        self._tier = None
        self._inventory: preflight.Inventory | None = None

    # ----- what the server is --------------------------------------------------------------------------------
    @property
    def tier(self):
        if self._tier is None:
            from app.models.tiers import Stage, Tier

            name = self._tier_name or self._tier_for_vram()
            if name not in self.catalog.tiers:
                raise InputError(f"unknown tier '{name}'; choose one of: {', '.join(self.catalog.tiers)}")
            t = self.catalog.tiers[name]  # the preset as is: this machine's hardware does not matter here

            def stage(p):
                return Stage(p.stage, p.enabled, p.reason, p.model, p.variant, p.dtype, p.offload, p.resolution,
                             p.steps, p.controlnet, p.optional)  # fmt: skip

            self._tier = Tier(t.name, t.label, t.device, stage(t.preview), stage(t.final), "server")
        return self._tier

    def _tier_for_vram(self) -> str:
        vram = describe(self.client.system_stats()).get("vram_gb")
        if not vram:
            return _DEFAULT_TIER
        fit = [(t.min_vram_gb or 0, n) for n, t in self.catalog.tiers.items()
               if t.device == "cuda" and (t.min_vram_gb or 0) <= vram]  # fmt: skip
        return max(fit)[1] if fit else _DEFAULT_TIER

    def inventory(self) -> preflight.Inventory:
        """The server's nodes and model files, asked once (on the worker that first needs them)."""
        if self._inventory is None:
            self._inventory = preflight.inventory(self.client)
        return self._inventory

    def object_info(self) -> dict:
        return self.inventory().info

    def installed_for(self, stage: str, choice: str | None = None):
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            raise ModelUnavailable(f"the {stage} engine is off for the server's tier ({self.tier.label})")
        self._plan(stage, (1024, 1024), 0, "", 1.0, choice)
        return st, None

    def choices(self, stage: str):
        """The models a stage can use on the server, for the window's picker: the tier's own first, then its optional
        upgrades (those MapBrush has a ComfyUI graph for), each at the variant the server has."""
        from app.jobs.ai import ModelChoice

        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            return []
        try:
            self.inventory()
        except InputError:  # the server stopped answering: no picker rather than a failed probe
            return []
        out = []
        for mid, var in [(st.model, st.variant), *((o.model, o.variant) for o in st.optional)]:
            entry = self.catalog.models.get(mid)
            if entry is None or not graphs.server_variants(mid):
                continue
            try:
                spec, _, _ = self._pick(stage, (1024, 1024), 0, "", 1.0, mid, var or entry.default_variant, False)
                ref, installed, install = f"{mid}:{spec.variant}", True, ""
            except preflight.ServerMissing as exc:
                ref, installed, install = f"{mid}:{var}", False, _install_words(exc.problems)
            out.append(ModelChoice(ref=ref, name=entry.name, installed=installed, default=mid == st.model,
                                   licence=entry.licence, commercial_use=entry.commercial_use,
                                   install=install))  # fmt: skip
        return out

    def controlnet_ready(self) -> bool:
        """Whether the server can run the preview's ControlNet route (its patch file and nodes are there)."""
        st = self.tier.stage("preview")
        if not st.enabled or not st.model:
            return False
        try:
            self._plan("preview", (1024, 1024), 0, "", 1.0, None, guide="controlnet")
        except (ModelUnavailable, InputError):
            return False
        return True

    def server_files(self) -> dict[str, list[str]]:
        """The model files the server has, per loader we use ({"UNETLoader": [...], …}), for the status tooltip."""
        inv = self.inventory()
        return {cls: files for cls in preflight.LOADERS if (files := inv.files(cls)) is not None}

    def available(self, stage: str, choice: str | None = None) -> tuple[bool, str]:
        try:
            self.installed_for(stage, choice)
        except (ModelUnavailable, InputError) as exc:  # InputError: ComfyError too (the server stopped answering)
            return False, exc.one_line()
        return True, ""

    def stage_state(self, stage: str) -> tuple[bool, str, str]:
        """(runs, why not, "Z-Image-Turbo Q8_0"): the model and the variant the server has, for the status bar."""
        st = self.tier.stage(stage)
        entry = self.catalog.models.get(st.model) if st.model else None
        name = entry.name if entry else ""
        try:
            self.installed_for(stage)
            spec, _, _ = self._plan(stage, (1024, 1024), 0, "", 1.0, None)
        except (ModelUnavailable, InputError) as exc:
            return False, exc.one_line(), name
        return True, "", f"{name} {self._variant_label(spec.model, spec.variant)}".strip()

    def unload(self) -> None:
        pass

    # ----- one stage -----------------------------------------------------------------------------------------
    def run(self, stage: str, *, size: tuple[int, int], sketch: np.ndarray, structure: np.ndarray, prompt: str,
            negative: str, creativity: float, threshold: float, seed: int, options,
            progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER, mask=None) -> StageOutcome:  # fmt: skip
        from app.jobs.ai import StageResult, stage_size, strength_for

        if stage not in STAGES:
            raise InputError(f"unknown AI stage '{stage}'")
        if mask is not None:
            raise InputError(REPAINT_LOCAL)
        choice = options.final_model if stage == "final" else None
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            raise ModelUnavailable(f"the {stage} engine is off for the server's tier ({self.tier.label})")
        width, height = stage_size(st.resolution, size)
        strength = strength_for(creativity)
        spec, graph, notes = self._plan(stage, (width, height), seed, prompt, strength, choice, steps=options.steps,
                                        guide=_guide(options.guide, st.controlnet))  # fmt: skip
        cancel.check()
        progress(stage, 0, spec.steps, f"{stage}: uploading to ComfyUI at {self.config.label}")
        init = options.reference if stage == "final" and options.reference is not None else sketch
        uploads = {graphs.SKETCH_IMAGE: _fit(init, width, height),
                   graphs.STRUCTURE_IMAGE: _fit(structure, width, height),
                   graphs.REFERENCE_IMAGE: _fit(init, width, height)}  # fmt: skip
        needed = {n["inputs"].get("image") for n in graph.values() if n.get("class_type") == "LoadImage"}
        names = {}
        for name, image in uploads.items():
            if name in needed:
                cancel.check()
                names[name] = self.client.upload_image(f"{self.client.client_id[:8]}-{name}", _png(image))
        for node in graph.values():
            if node.get("class_type") == "LoadImage" and node["inputs"].get("image") in names:
                node["inputs"]["image"] = names[node["inputs"]["image"]]

        def on_progress(value: int, total: int, node: str) -> None:
            progress(stage, value, total or spec.steps, f"{stage} on ComfyUI: step {value}/{total or spec.steps}")

        image = self.client.run(graph, on_progress=on_progress, cancel=cancel)
        got = (image.shape[1], image.shape[0])
        if upscale_wanted("auto", size, got):  # where this computer would upscale it with AI tiles
            notes.append(f"upscaling for print runs on this computer only: the ComfyUI server's {got[0]}x{got[1]} "
                         f"picture was enlarged plainly to {size[0]}x{size[1]}")  # fmt: skip
        image = _resize(image, size)
        score = _fidelity(image, structure)
        info = {"model": spec.model, "variant": spec.variant, "tier": self.tier.name, "device": "comfyui",
                "server": self.config.label, "steps": spec.steps, "resolution": [width, height],
                "creativity": creativity, "strength": round(strength, 4), "guide": spec.guide,
                "fidelity": round(float(score), 4)}  # fmt: skip
        return StageResult(image, info, notes)

    def _plan(self, stage, size, seed, prompt, strength, choice, *, steps=None, guide="img2img"):
        """(spec, API graph with the server's file names, notes) for a stage on this server; ServerMissing (one line)
        when it lacks something. `choice` "model[:variant]" overrides the tier's model; a variant named there is
        run as named, else the tier's variant is preferred and the nearest one the server has is run."""
        st = self.tier.stage(stage)
        model, preferred, exact = st.model, st.variant, False
        if choice:
            model, _, v = choice.partition(":")
            entry = self.catalog.models.get(model)
            preferred, exact = (v, True) if v else (entry.default_variant if entry else "bf16", False)
            if model == st.model and not v:
                preferred = st.variant
        return self._pick(stage, size, seed, prompt, strength, model, preferred or "bf16", exact, steps=steps,
                          guide=guide)  # fmt: skip

    def _pick(self, stage, size, seed, prompt, strength, model, preferred, exact, *, steps=None, guide="img2img"):
        st = self.tier.stage(stage)
        n = steps or st.steps
        order = [preferred] if exact else prefer(graphs.server_variants(model), preferred)
        first: list[str] | None = None
        for variant in order or [preferred]:
            spec = graphs.StageSpec(stage=stage, model=model, variant=variant, prompt=prompt, seed=seed, steps=n,
                                    width=size[0], height=size[1], guide=guide,
                                    denoise=min(1.0, max(strength, 1.0 / max(1, n))))  # fmt: skip
            try:
                graph = graphs.build_stage(spec).api()
            except ValueError as exc:  # a model we have no ComfyUI graph for
                raise preflight.ServerMissing(f"{self._name(spec)} runs on this computer only: {exc}") from exc
            problems = preflight.resolve(graph, self.inventory(), model_name=self._name(spec))
            if not problems:
                notes = [] if variant == preferred else [
                    f"the ComfyUI server has no {self._variant_label(model, preferred)} of {self._name(spec)} (the "
                    f"{self.tier.name} preset's); it ran its {self._variant_label(model, variant)}"]  # fmt: skip
                return spec, graph, notes
            first = first or problems
        raise preflight.ServerMissing(f"ComfyUI at {self.config.label}: " + "; ".join(first or ["nothing to run"]),
                                      problems=first or [])  # fmt: skip

    def _variant_label(self, model: str, variant: str) -> str:
        entry = self.catalog.models.get(model)
        v = entry.variants.get(variant) if entry else None
        return (getattr(v, "quant", None) or variant).upper() if v is not None else variant.upper()

    def _name(self, spec: graphs.StageSpec) -> str:
        entry = self.catalog.models.get(spec.model)
        return entry.name if entry else spec.model


REPAINT_LOCAL = ("repainting a region runs on this computer only, not on a ComfyUI server: choose This computer in "
                 "Settings → Engines (or leave out --backend comfyui)")  # fmt: skip


UPSCALE_LOCAL = ("--upscale on runs on this computer only, not on a ComfyUI server (leave out --backend comfyui, "
                 "or use --upscale off)")  # fmt: skip


def upscale_wanted(mode: str, size: tuple[int, int], got: tuple[int, int]) -> bool:
    from app.jobs.upscale import wanted  # numpy only: the rule this computer's upscale step follows

    return wanted(mode, size, got)


def prefer(variants: list[str], preferred: str) -> list[str]:
    """The order to try a model's variants on a server: the preferred one, then the smaller ones (further down
    models.toml's list, which runs from the largest), then the larger ones, nearest first."""
    if preferred not in variants:
        return list(variants)
    i = variants.index(preferred)
    return [preferred, *variants[i + 1 :], *reversed(variants[:i])]


def _install_words(problems: list[str]) -> str:
    """'put X in models/unet on the ComfyUI server' from preflight's sentences."""
    parts = [p.split("; ", 1)[1] if "; " in p else p for p in problems]
    return " and ".join(dict.fromkeys(parts)) + " on the ComfyUI server" if parts else "not on the ComfyUI server"


def describe(stats: dict) -> dict:
    """The first device of /system_stats: {"gpu": "RTX 4090", "vram_gb": 24, "comfyui": "0.3.0"}."""
    out: dict = {}
    devices = stats.get("devices") if isinstance(stats, dict) else None
    if isinstance(devices, list) and devices and isinstance(devices[0], dict):
        d = devices[0]
        name = str(d.get("name") or "")
        name = re.sub(r"^\w+:\d+\s+", "", name).split(" : ")[0].strip()  # "cuda:0 NVIDIA … : cudaMallocAsync"
        out["gpu"] = name.replace("NVIDIA GeForce ", "").replace("NVIDIA ", "").strip()
        if isinstance(d.get("vram_total"), (int, float)):
            out["vram_gb"] = round(d["vram_total"] / 2**30)
    system = stats.get("system") if isinstance(stats, dict) else None
    if isinstance(system, dict) and system.get("comfyui_version"):
        out["comfyui"] = str(system["comfyui_version"])
    return out


def status_line(config: ServerConfig, stats: dict) -> str:
    """'ComfyUI at gpu-box:8188 · RTX 4090 · 24 GB' for the status bar."""
    d = describe(stats)
    parts = [f"ComfyUI at {config.label}"]
    if d.get("gpu"):
        parts.append(d["gpu"])
    if d.get("vram_gb"):
        parts.append(f"{d['vram_gb']} GB")
    return " · ".join(parts)


def _guide(guide: str, controlnet: bool) -> str:
    if guide in ("img2img", "controlnet"):
        return guide
    return "img2img"  # auto: img2img from the painting, as the local preview does when it has a sketch


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return _resize(np.asarray(image)[..., :3] if np.asarray(image).ndim == 3 else np.asarray(image), (width, height))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    image = np.ascontiguousarray(image)
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(tuple(size), Image.Resampling.LANCZOS))


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


def _fidelity(image: np.ndarray, structure: np.ndarray) -> float:
    from app.inference.fidelity import edge_f1  # numpy only (no torch): the same score as the local stages

    return edge_f1(image, structure)
