"""The AI stages (preview: Z-Image-Turbo, final: FLUX.2 Klein) as steps of the one render chain.

`Engines` holds what must outlive one image: the catalog, the model store, the chosen tier and the
`ModelManager` that keeps pipelines resident. torch is imported only when a stage really runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError, ModelUnavailable
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress

STAGES = ("preview", "final")
_DTYPES = {"bf16": "bfloat16", "fp32": "float32"}
_AUTO_TRIES = 4  # --creativity auto: at most this many attempts, each less creative


@dataclass
class AIOptions:
    steps: int | None = None  # None → the tier's
    creativity: float | None = None  # 0..1; None → the style's default
    auto_creativity: bool = False  # step creativity down until fidelity clears the style's threshold
    prompt_extra: str = ""
    prompt: str | None = None  # replaces the style's prompt template when set (the GUI's editable prompt)
    guide: str = "auto"  # "auto" | "img2img" | "controlnet" (preview only)
    reference: np.ndarray | None = None  # the approved preview for the final stage (HxWx3 uint8)
    reference_metadata: dict | None = None  # its `mapbrush` metadata when it is a finished PNG (overlay removed)


@dataclass
class StageResult:
    image: np.ndarray  # at the requested size, before the overlay
    info: dict[str, Any] = field(default_factory=dict)  # metadata for this stage
    notes: list[str] = field(default_factory=list)


def strength_for(creativity: float) -> float:
    """img2img strength from creativity: 0 keeps the painting almost as is, 1 lets the model repaint freely."""
    c = min(1.0, max(0.0, creativity))
    return 0.2 + 0.75 * c


def stage_size(resolution: int, size: tuple[int, int]) -> tuple[int, int]:
    """About resolution² pixels with the request's aspect, multiples of 16; never more than the output needs."""
    w, h = size
    scale = min(1.0, (resolution * resolution / (w * h)) ** 0.5)
    return max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16)


def build_prompt(template: str, place: str | None, extra: str = "") -> str:
    text = template.replace("{place}", place or "a town").strip()
    if extra.strip():
        text = f"{text}, {extra.strip()}"
    return text


class Engines:
    """Model catalog + store + tier + resident pipelines. One per app (the GUI) or per command (the CLI)."""

    def __init__(self, models_dir: Path | None = None, tier_override: str | None = None, *, catalog=None) -> None:
        from app.models.catalog import load_catalog
        from app.models.store import ModelStore

        self.catalog = catalog or load_catalog()
        self.store = ModelStore(self.catalog, models_dir)
        self.tier_override = tier_override or None
        self._tier = None
        self._manager = None

    @property
    def tier(self):
        if self._tier is None:
            from app.inference.probe import probe_torch_runtime
            from app.models.hardware import detect
            from app.models.tiers import choose_tier

            self._tier = choose_tier(detect(torch_probe=probe_torch_runtime), self.catalog, self.tier_override)
        return self._tier

    @property
    def manager(self):
        if self._manager is None:
            from app.inference.manager import ModelManager

            self._manager = ModelManager()
        return self._manager

    def unload(self) -> None:
        if self._manager is not None:
            self._manager.unload()

    # ----- what can run --------------------------------------------------------------------------
    def installed_for(self, stage: str):
        """(Stage preset, InstalledModel) for a stage, or raise ModelUnavailable saying how to install it."""
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            raise ModelUnavailable(f"the {stage} engine is off on this machine ({self.tier.label}): {st.reason}")
        model = self.store.locate(st.model, st.variant)
        if model is None:  # another installed variant of the same model will do
            ready = [m for (mid, _), m in self.store.installed().items() if mid == st.model and m.ready]
            model = ready[0] if ready else None
        if model is None:
            name = self.catalog.models[st.model].name
            raise ModelUnavailable(
                f"the {stage} engine needs {name}, which is not installed; "
                f"install it with: mapbrush models download {st.model} --variant {st.variant}"
            )
        return st, model

    def available(self, stage: str) -> tuple[bool, str]:
        try:
            self.installed_for(stage)
        except ModelUnavailable as exc:
            return False, exc.message
        return True, ""

    def plan(self, stage: str, size: tuple[int, int], *, steps: int | None = None, guide: str = "auto"):
        from app.inference.api import StagePlan

        st, model = self.installed_for(stage)
        entry = self.catalog.models[model.model_id]
        single = model.format in ("gguf", "safetensors")
        controlnet_file = None
        if stage == "preview" and guide != "img2img":
            cn_entry = self.catalog.controlnet_for(model.model_id)
            cn = None
            if cn_entry is not None:
                cn = next((m for (mid, _), m in self.store.installed().items() if mid == cn_entry.id and m.ready), None)
            if guide == "controlnet" and cn is None:
                raise ModelUnavailable(
                    "ControlNet guidance needs the Z-Image ControlNet, which is not installed; install it with: "
                    f"mapbrush models download {cn_entry.id if cn_entry else 'z-image-turbo-controlnet'}"
                )
            if cn is not None and (guide == "controlnet" or st.controlnet):
                controlnet_file = cn.weights
        width, height = stage_size(st.resolution, size)
        plan = StagePlan(
            stage=stage,
            family=entry.family.replace("-", "_"),
            model_dir=Path(model.base_dir if single and model.base_dir else model.weights),
            transformer_file=Path(model.weights) if single else None,
            controlnet_file=controlnet_file,
            dtype=_DTYPES.get(st.dtype, st.dtype),
            offload=st.offload,
            device=self.tier.device,
            width=width,
            height=height,
            steps=int(steps or st.steps),
            use_controlnet=controlnet_file is not None,
        )
        return plan, model

    # ----- running -------------------------------------------------------------------------------
    def run(
        self,
        stage: str,
        *,
        size: tuple[int, int],
        sketch: np.ndarray,
        structure: np.ndarray,
        prompt: str,
        negative: str,
        creativity: float,
        threshold: float,
        seed: int,
        options: AIOptions,
        progress: Progress = NULL_PROGRESS,
        cancel: CancelToken = NEVER,
    ) -> StageResult:
        """Run one AI stage; the result is resized to `size` (the overlay is drawn afterwards, crisp)."""
        from app.inference.api import generate
        from app.inference.fidelity import edge_f1

        if stage not in STAGES:
            raise InputError(f"unknown AI stage '{stage}'")
        plan, model = self.plan(stage, size, steps=options.steps, guide=options.guide)
        if stage == "preview":
            init, references = sketch, []
        else:
            init = options.reference if options.reference is not None else sketch
            references = [structure]
        tries = _AUTO_TRIES if options.auto_creativity else 1
        notes: list[str] = []
        c = creativity
        best: tuple[float, np.ndarray, float] | None = None
        for attempt in range(tries):
            progress(stage, attempt, tries, f"{stage}: creativity {c:.2f}")
            image = generate(
                self.manager,
                plan,
                prompt=prompt,
                negative=negative,
                image=init,
                control=structure if plan.use_controlnet else None,
                references=references,
                strength=strength_for(c),
                seed=seed,
                progress=progress,
                cancel=cancel,
                notes=notes,
            )
            score = edge_f1(image, structure)
            if best is None or score > best[0]:
                best = (score, image, c)
            if score >= threshold or not options.auto_creativity:
                break
            notes.append(f"map fidelity {score:.2f} is below {threshold:.2f}: trying less creativity")
            c = round(c * 0.6, 3)
        score, image, c = best
        image = _resize(image, size)
        info = {
            "model": model.model_id,
            "variant": model.variant,
            "tier": self.tier.name,
            "device": plan.device,
            "dtype": plan.dtype,
            "offload": plan.offload,
            "steps": plan.steps,
            "resolution": [plan.width, plan.height],
            "creativity": c,
            "guide": "controlnet" if plan.use_controlnet else "img2img",
            "fidelity": round(float(score), 4),
        }
        return StageResult(image, info, notes)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
