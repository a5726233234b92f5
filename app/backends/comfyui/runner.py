"""The preview and final stages on a ComfyUI server, with the interface of app.jobs.ai.Engines.

`ComfyEngines.run(stage, …)` builds the stage's graph (graphs.py), checks the server has what it needs
(preflight.py), uploads the sketch / structure / reference, queues the graph, turns the websocket's `progress`
messages into our Progress calls, and returns the picture; jobs/render.py then finishes it locally (crisp overlay,
metadata) as for the local engines. A cancel interrupts our prompt and deletes it from the server's queue.
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
        self._tier_name = tier
        self._tier = None
        self._info: dict | None = None

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

    def object_info(self) -> dict:
        if self._info is None:
            self._info = self.client.object_info()
        return self._info

    def installed_for(self, stage: str, choice: str | None = None):
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            raise ModelUnavailable(f"the {stage} engine is off for the server's tier ({self.tier.label})")
        spec = self._spec(stage, (1024, 1024), 0, "", 1.0, choice)
        problems = preflight.missing(graphs.build_stage(spec).api(), self.object_info(), model_name=self._name(spec))
        if problems:
            raise preflight.ServerMissing(f"ComfyUI at {self.config.label}: " + "; ".join(problems))
        return st, None

    def available(self, stage: str, choice: str | None = None) -> tuple[bool, str]:
        try:
            self.installed_for(stage, choice)
        except ModelUnavailable as exc:
            return False, exc.one_line()
        return True, ""

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
            raise InputError("repainting a region is not available on a ComfyUI server yet; use --backend local")
        choice = options.final_model if stage == "final" else None
        st = self.tier.stage(stage)
        width, height = stage_size(st.resolution, size)
        strength = strength_for(creativity)
        spec = self._spec(stage, (width, height), seed, prompt, strength, choice, steps=options.steps,
                          guide=_guide(options.guide, st.controlnet))  # fmt: skip
        graph = graphs.build_stage(spec).api()
        problems = preflight.missing(graph, self.object_info(), model_name=self._name(spec))
        if problems:
            raise preflight.ServerMissing(f"ComfyUI at {self.config.label}: " + "; ".join(problems))
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
        image = _resize(image, size)
        score = _fidelity(image, structure)
        info = {"model": spec.model, "variant": spec.variant, "tier": self.tier.name, "device": "comfyui",
                "server": self.config.label, "steps": spec.steps, "resolution": [width, height],
                "creativity": creativity, "strength": round(strength, 4), "guide": spec.guide,
                "fidelity": round(float(score), 4)}  # fmt: skip
        return StageResult(image, info, [])

    def _spec(self, stage, size, seed, prompt, strength, choice, *, steps=None, guide="img2img") -> graphs.StageSpec:
        st = self.tier.stage(stage)
        model, variant = st.model, st.variant
        if choice:
            model, _, v = choice.partition(":")
            variant = v or (self.catalog.models[model].default_variant if model in self.catalog.models else "bf16")
        n = steps or st.steps
        return graphs.StageSpec(stage=stage, model=model, variant=variant or "bf16", prompt=prompt, seed=seed,
                                steps=n, width=size[0], height=size[1], guide=guide,
                                denoise=min(1.0, max(strength, 1.0 / max(1, n))))  # fmt: skip

    def _name(self, spec: graphs.StageSpec) -> str:
        entry = self.catalog.models.get(spec.model)
        return entry.name if entry else spec.model


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
