"""The AI stages (preview: Z-Image-Turbo, final: FLUX.2 Klein) as steps of the one render chain.

`Engines` holds what must outlive one image: the catalog, the model store, the chosen tier and the
`ModelManager` that keeps pipelines resident. torch is imported only when a stage really runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import AppError, InputError, ModelUnavailable
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
    final_model: str | None = None  # "model[:variant]" for the final stage; None → the tier's
    loras: tuple = ()  # app.inference.lora.LoraSpec: the style's, then --lora; engine None → every AI stage
    style_reference: np.ndarray | None = None  # "paint it like this picture": the final's second reference image


@dataclass(frozen=True)
class ModelChoice:
    """A model a stage may use on this machine, for the window's and the CLI's pickers."""

    ref: str  # "model:variant"
    name: str
    installed: bool
    default: bool  # the tier's own model
    licence: str
    commercial_use: bool | None
    install: str  # the command that installs it


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


def build_prompt(template: str, place: str | None, extra: str = "", *, what: str | None = None) -> str:
    """The style's template filled in: {map} is what the map is, without an article ("city map of Helsinki",
    "world map", "hiking map of the mountains around Kranjska Gora": app.mapdata.titles.map_phrase), {place}
    the place's name. Without `what`, {map} is "map of <place>"."""
    what = what or (f"map of {place}" if place else "map")
    text = template.replace("{map}", what).replace("{place}", place or "the area").strip()
    if extra.strip():
        text = f"{text}, {extra.strip()}"
    return text


class Engines:
    """Model catalog + store + tier + resident pipelines. One per app (the GUI) or per command (the CLI)."""

    def __init__(
        self, models_dir: Path | None = None, tier_override: str | None = None, *, catalog=None, cache_gb: float = 0
    ) -> None:
        from app.models.catalog import load_catalog
        from app.models.store import ModelStore

        self.catalog = catalog or load_catalog()
        self.store = ModelStore(self.catalog, models_dir)
        self.tier_override = tier_override or None
        self.cache_gb = cache_gb  # settings' model_cache_gb; 0 = from this machine's RAM and VRAM
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
            from app.inference.manager import ModelManager, default_budget_bytes

            tier = self.tier
            offloads = tuple(s.offload for s in (tier.preview, tier.final) if s.enabled)
            budget = default_budget_bytes(device=tier.device, offloads=offloads, setting_gb=self.cache_gb)
            self._manager = ModelManager(
                budget,
                file_hashes=self.store.file_hashes,
                namer=lambda key: self.store.label_for(tuple(k for k in key if isinstance(k, str))) or str(key[0]),
            )
        return self._manager

    @property
    def residency(self):
        """The manager's latest snapshot (app.inference.manager.Residency), or None before any model loads.
        Safe from any thread: it never loads anything."""
        return self._manager.residency if self._manager is not None else None

    def unload(self) -> None:
        if self._manager is not None:
            self._manager.unload()

    # ----- what can run --------------------------------------------------------------------------
    def installed_for(self, stage: str, choice: str | None = None):
        """(Stage preset, InstalledModel) for a stage, or raise ModelUnavailable saying how to install it.

        `choice` ("model" or "model:variant") replaces the tier's model, e.g. an optional bigger final model.
        """
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            raise ModelUnavailable(f"the {stage} engine is off on this machine ({self.tier.label}): {st.reason}")
        model_id, variant = self.resolve(stage, choice)
        model = self.store.locate(model_id, variant)
        if model is None and not (choice and ":" in choice):  # another installed variant of it will do
            ready = self.store.ready_variants(model_id)
            model = ready[0] if ready else None
        if model is None:
            name = self.catalog.models[model_id].name
            raise ModelUnavailable(
                f"the {stage} engine needs {name}, which is not installed; "
                f"install it with: mapbrush models download {model_id} --variant {variant}"
            )
        return st, model

    def resolve(self, stage: str, choice: str | None) -> tuple[str, str]:
        """(model id, variant) for a stage: the tier's, or the person's `choice` checked against the catalog."""
        st = self.tier.stage(stage)
        if not choice:
            return st.model, st.variant
        model_id, _, variant = choice.strip().partition(":")
        entry = self.catalog.models.get(model_id)
        if entry is None or entry.role != stage:
            known = ", ".join(m for m, e in self.catalog.models.items() if e.role == stage)
            raise InputError(f"unknown {stage} model '{model_id}' (choose from {known})")
        if variant and variant not in entry.variants:
            raise InputError(f"{entry.name} has no variant '{variant}' (choose from {', '.join(entry.variants)})")
        if not variant:
            listed = [o.variant for o in st.optional if o.model == model_id]
            variant = st.variant if model_id == st.model else (listed or list(entry.variants))[0]
        return model_id, variant

    def choices(self, stage: str) -> list[ModelChoice]:
        """The models a stage can use here: the tier's own first, then its optional upgrades."""
        st = self.tier.stage(stage)
        if not st.enabled or not st.model:
            return []
        out = []
        for mid, var in [(st.model, st.variant), *((o.model, o.variant) for o in st.optional)]:
            ref = f"{mid}:{var}"
            entry = self.catalog.models[mid]
            installed = self.store.ready_variants(mid)
            exact = next((m for m in installed if m.variant == var), None)
            have = exact or (installed[0] if installed and mid == st.model else None)
            out.append(ModelChoice(
                ref=f"{mid}:{have.variant}" if have else ref,
                name=entry.name,
                installed=have is not None,
                default=mid == st.model,
                licence=entry.licence,
                commercial_use=entry.commercial_use,
                install=f"mapbrush models download {mid} --variant {var}",
            ))  # fmt: skip
        return out

    def available(self, stage: str, choice: str | None = None) -> tuple[bool, str]:
        try:
            self.installed_for(stage, choice)
        except (ModelUnavailable, InputError) as exc:
            return False, exc.message
        return True, ""

    def plan(
        self,
        stage: str,
        size: tuple[int, int],
        *,
        steps: int | None = None,
        guide: str = "auto",
        model: str | None = None,
    ):
        from app.inference.api import StagePlan

        st, model = self.installed_for(stage, model)
        entry = self.catalog.models[model.model_id]
        single = model.format in ("gguf", "safetensors")
        controlnet_file = None
        if stage == "preview" and guide != "img2img":
            cn_entry = self.catalog.controlnet_for(model.model_id)
            cn = None
            if cn_entry is not None:
                cn = next(iter(self.store.ready_variants(cn_entry.id)), None)
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
            offload=_offload_for(st, model.model_id),
            device=self.tier.device,
            width=width,
            height=height,
            steps=int(steps or (entry.steps if entry.id != st.model and entry.steps else st.steps)),
            use_controlnet=controlnet_file is not None,
        )
        return plan, model

    def damaged(self, model, plan, exc: BaseException) -> ModelUnavailable | None:
        """A ModelUnavailable naming the model, the file and the fix when `exc` came from a damaged model file.

        The files are checked without hashing (sizes against the registry, headers): a truncated or
        overwritten file is named. When none is found but `exc` reads like a file error (safetensors,
        gguf, OSError), the model is named and `models verify` (which hashes) is the next step.
        """
        from app.models.integrity import file_problem, is_file_error
        from app.models.store import FileProblem

        try:
            problems = self.store.check(model.model_id, model.variant)
        except AppError:  # the registry itself is unreadable: say what the loader said
            problems = []
        cn = self.catalog.controlnet_for(model.model_id)
        if not problems and plan.controlnet_file is not None and cn is not None:
            found = file_problem(Path(plan.controlnet_file))
            cn_model = next((m for m in self.store.ready_variants(cn.id) if m.weights == plan.controlnet_file), None)
            if found:
                variant = cn_model.variant if cn_model else next(iter(cn.variants))
                files = self.store.model_files(cn.id, variant) if cn_model else []
                key = next((k for k, f in files if f == Path(plan.controlnet_file)), None)
                problems = [FileProblem(cn.id, variant, Path(plan.controlnet_file), found, key)]
        if problems:
            p = problems[0]
            name = self.catalog.models[p.model_id].name
            return ModelUnavailable(f"{name} ({p.variant}) cannot be loaded: this file {p.problem}; {p.fix()}",
                                    path=str(p.path))  # fmt: skip
        if not is_file_error(exc):
            return None
        name = self.catalog.models[model.model_id].name
        what = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        fix = (
            f"mapbrush models verify {model.model_id} --variant {model.variant} names the broken file"
            if model.source == "download"
            else f"import a good copy again: mapbrush models import {model.weights}"
        )
        return ModelUnavailable(f"{name} ({model.variant}) cannot be loaded: a model file could not be read "
                                f"({what}); {fix}")  # fmt: skip

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
        mask: np.ndarray | None = None,
    ) -> StageResult:
        """Run one AI stage; the result is resized to `size` (the overlay is drawn afterwards, crisp).

        With `mask` (HxW, white = repaint) the stage's inpainting pipeline repaints that region of `sketch`
        (app/jobs/repaint.py blends it back); the final stage then ignores `options.reference`."""
        from app.inference.api import generate
        from app.inference.fidelity import edge_f1

        if stage not in STAGES:
            raise InputError(f"unknown AI stage '{stage}'")
        choice = options.final_model if stage == "final" else None
        plan, model = self.plan(stage, size, steps=options.steps, guide=options.guide, model=choice)
        loras = tuple(spec for spec in options.loras if spec.engine in (None, stage))
        if loras:
            from dataclasses import replace

            from app.inference import lora

            plan = replace(plan, loras=tuple(lora.resolved(s, self.store.root) for s in loras))
        if stage == "preview":
            init, references = sketch, []
        else:
            init = options.reference if options.reference is not None and mask is None else sketch
            references = [structure]
            if options.style_reference is not None:  # [map, style, line art]: the prompt says which is which
                references = [fit_reference(options.style_reference, plan.width, plan.height), structure]
                prompt = style_reference_prompt(prompt)
        tries = _AUTO_TRIES if options.auto_creativity else 1
        notes: list[str] = []
        if plan.loras:
            from app.inference import lora

            notes.extend([lora.fuse_note(plan)] if lora.fuse_note(plan) else [])  # GGUF: LoRAs stay unfused
        st = self.tier.stage(stage)
        if model.model_id not in {st.model, *(o.model for o in st.optional)}:
            notes.append(
                f"{self.catalog.models[model.model_id].name} is not one this machine's tier ({self.tier.label}) "
                "is set up for: if memory runs short it falls back to more offload or a smaller size"
            )
        c = creativity
        best: tuple[float, np.ndarray, float] | None = None
        for attempt in range(tries):
            progress(stage, attempt, tries, f"{stage}: creativity {c:.2f}")
            try:
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
                    mask=mask,
                )
            except AppError:
                raise
            except Exception as exc:
                damaged = self.damaged(model, plan, exc)
                if damaged is None:
                    raise
                raise damaged from exc
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
            "strength": round(strength_for(c), 4),
            "guide": "controlnet" if plan.use_controlnet else "img2img",
            "fidelity": round(float(score), 4),
        }
        if stage == "final":
            info["references"] = ["map", *(["style image"] if options.style_reference is not None else []),
                                  "line art"]  # fmt: skip
            if options.style_reference is not None:
                info["prompt"] = prompt  # the one the model saw, saying which image is which
        if plan.loras:
            from app.inference import lora

            info["loras"] = [lora.info(spec) for spec in plan.loras]
        return StageResult(image, info, notes)


def style_reference_prompt(prompt: str) -> str:
    """The final's prompt when a style image rides along: image 1 gives the map, image 2 only the style."""
    return (
        "Image 1 is the map: keep its layout, coastlines, water, roads and places exactly. Image 2 gives only the "
        "style: paint the map in its colours, brushwork and texture, without taking anything it shows. "
        f"Image 3 is the map's line art. {prompt}"
    )


def fit_reference(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """A style picture cropped to the stage's aspect (centre) and scaled to its size: the brushwork is not
    stretched, and the model gets as many pixels of it as of the map."""
    from PIL import Image

    img = Image.fromarray(np.asarray(image, np.uint8)[..., :3])
    w, h = img.size
    aspect = width / height
    cw, ch = (round(h * aspect), h) if w / h > aspect else (w, round(w / aspect))
    left, top = (w - cw) // 2, (h - ch) // 2
    img = img.crop((left, top, left + max(1, cw), top + max(1, ch)))
    return np.asarray(img.resize((width, height), Image.Resampling.LANCZOS))


_OFFLOAD_ORDER = ("none", "model", "group", "sequential")


def _offload_for(stage, model_id: str) -> str:
    """The stage's offload, or more when the model is an upgrade that asks for more (`model:variant@offload`)."""
    asked = next((o.offload for o in stage.optional if o.model == model_id and o.offload), None)
    if asked is None or model_id == stage.model:
        return stage.offload
    return max(stage.offload, asked, key=_OFFLOAD_ORDER.index)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
