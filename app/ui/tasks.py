"""The window's work, as plain functions `fn(request, *, progress, cancel)` (no Qt; run by ui/workers.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import AppError, Cancelled
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.mapdata.model import MapData


@dataclass
class LoadedFile:
    path: Path
    data: MapData
    label: str | None = None  # what the window calls it, when not its file name (fetched data in the cache)

    @property
    def features(self) -> int:
        return len(self.data)


@dataclass
class LoadRequest:
    paths: list[Path]
    existing: list[LoadedFile] = field(default_factory=list)


@dataclass
class LoadResult:
    files: list[LoadedFile]  # existing + the new ones that loaded
    merged: MapData | None
    errors: list[str]  # one line per file that could not be read
    added: list[Path] = field(default_factory=list)


def load_files(req: LoadRequest, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> LoadResult:
    """Read each new file on its own, so one broken file does not lose the others."""
    from app.jobs.render import load

    files = list(req.existing)
    known = {f.path.resolve() for f in files}
    errors: list[str] = []
    added: list[Path] = []
    for i, path in enumerate(req.paths):
        cancel.check()
        progress("read", i, len(req.paths), path.name)
        if path.resolve() in known:
            continue
        try:
            data = load([path], cancel=cancel)
        except Cancelled:
            raise
        except AppError as exc:
            errors.append(exc.one_line() if exc.path else f"{path.name}: {exc.message}")
            continue
        except Exception as exc:  # a reader bug: still plain words, naming the file
            errors.append(f"{path.name}: could not be read ({type(exc).__name__}: {exc})")
            continue
        if len(data) == 0:
            errors.append(f"{path.name}: no map features found in this file")
            continue
        files.append(LoadedFile(path, data))
        known.add(path.resolve())
        added.append(path)
    progress("read", len(req.paths), len(req.paths), "merging")
    merged = MapData.merge([f.data for f in files]) if files else None
    return LoadResult(files, merged, errors, added)


@dataclass
class RenderJob:
    request: Any  # app.jobs.render.RenderRequest
    data: MapData
    engines: EngineHolder | None = None


def render_task(job: RenderJob, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    from app.jobs.render import render

    engines = job.engines.get() if job.engines is not None and job.request.engine != "procedural" else None
    return render(job.request, data=job.data, engines=engines, progress=progress, cancel=cancel)


def prompt_subject_task(job: tuple, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    """(place, what the map is) the AI prompt of a sketch's map would say: job is (request, data, groups)."""
    from app.jobs.render import prompt_subject

    return prompt_subject(*job)


@dataclass
class ExportJob:
    request: Any
    data: MapData
    out: Path
    engines: EngineHolder | None = None
    metadata: dict | None = None  # added to the picture's metadata (the paper, bleed and trim box)


def export_task(job: ExportJob, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    """Render at export size and write the PNG atomically (the loaded data is not read again)."""
    from app.jobs.render import render_to_file

    engines = job.engines.get() if job.engines is not None and job.request.engine != "procedural" else None
    render_to_file(
        job.request, job.out, data=job.data, engines=engines, progress=progress, cancel=cancel, metadata=job.metadata
    )
    return job.out


@dataclass
class PngPreview:
    """An AI picture MapBrush exported earlier, taken up again as the preview the final re-paints."""

    path: Path
    metadata: dict
    image: np.ndarray  # as written, overlay and all (the render takes the overlay off: app/jobs/reference.py)
    display: np.ndarray  # the same at the window's sketch size


def read_png_task(png: tuple[Path, dict], *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    from PIL import Image

    from app.export.png import read_rgb
    from app.ui.composition import SKETCH_LONG_SIDE

    path, meta = png
    image = read_rgb(path)
    cancel.check()
    small = Image.fromarray(image)
    small.thumbnail((SKETCH_LONG_SIDE, SKETCH_LONG_SIDE), Image.Resampling.LANCZOS)
    return PngPreview(Path(path), meta, image, np.asarray(small))


THUMB_SIZE = (240, 180)


def thumbnail_task(job: RenderJob, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    """The person's own map in one style, small, without labels, credit or relief (a swatch never waits on the
    network: relief tiles come with the sketch)."""
    from app.jobs.render import render

    req = replace(job.request, size=THUMB_SIZE, title="", subtitle=None, labels=False, scale_bar=False,
                  north_arrow=False, attribution=False, terrain=False, engine="procedural")  # fmt: skip
    return render(req, data=job.data, cancel=cancel).image


KEEP_SERVER = object()


class EngineHolder:
    """One `app.jobs.ai.Engines` for the app's life, created on first use (on the GPU lane's thread); with a
    `server` (app.backends.comfyui.client.ServerConfig, Settings → Engines → ComfyUI server) a `ComfyEngines`."""

    def __init__(
        self, models_dir: str | Path | None = None, tier_override: str | None = None, cache_gb: float = 0,
        server=None,
    ) -> None:  # fmt: skip
        self.models_dir = Path(models_dir) if models_dir else None
        self.tier_override = tier_override or None
        self.cache_gb = cache_gb  # settings' model_cache_gb (0 = auto)
        self.server = server
        self._engines = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._engines is None:
                if self.server is not None:  # the same choice as app.jobs.render.make_engines
                    from app.backends.comfyui.runner import ComfyEngines

                    self._engines = ComfyEngines(self.server)
                else:
                    from app.jobs.ai import Engines

                    self._engines = Engines(self.models_dir, self.tier_override, cache_gb=self.cache_gb)
            return self._engines

    def residency(self):
        """What the GPU lane holds resident (a frozen snapshot), or None; reads, never loads."""
        engines = self._engines
        return engines.residency if engines is not None else None

    def reset(self, models_dir: str | Path | None, tier_override: str | None, cache_gb: float | None = None,
              server=KEEP_SERVER) -> None:  # fmt: skip
        """New folder, tier, model memory (`cache_gb`; None keeps it) or ComfyUI server (`server`; None: this
        computer): the next job builds a fresh Engines (call on the GPU lane when one exists)."""
        with self._lock:
            if server is not KEEP_SERVER:
                self.server = server
            if self._engines is not None:
                self._engines.unload()
            self._engines = None
            self.models_dir = Path(models_dir) if models_dir else None
            self.tier_override = tier_override or None
            if cache_gb is not None:
                self.cache_gb = cache_gb

    def auto_cache_gb(self) -> float:
        """The model memory that setting 0 means here: the live manager's when it runs on the automatic budget,
        else RAM less room for the OS and the app (the budget of CPU and every offload mode)."""
        from app.models.hardware import GB, cache_budget_bytes, read_ram

        engines = self._engines
        manager = getattr(engines, "_manager", None)
        if manager is not None and not self.cache_gb:
            return manager.budget_bytes / GB
        return cache_budget_bytes(read_ram()[0]) / GB


@dataclass
class StageState:
    ok: bool
    reason: str
    model_name: str


@dataclass
class EngineStatus:
    gpu: str  # "NVIDIA GeForce RTX 4090" or "no GPU"
    vram_gib: float
    tier: str
    stages: dict[str, StageState]
    final_models: list = field(default_factory=list)  # [app.jobs.ai.ModelChoice]: the tier's, then upgrades
    controlnet: bool = False  # the preview's ControlNet is installed
    speed: object = None  # app.models.speed.SpeedEstimate for this machine's tier (None: not measured)
    server: bool = False  # the stages run on a ComfyUI server: `gpu` is its status line


def probe_task(holder: EngineHolder, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    """GPU, tier and which AI stages can run (imports torch when installed: run it on the GPU lane)."""
    if holder.server is not None:
        return _server_probe(holder, cancel)
    from app.models.hardware import detect

    hw = detect()
    engines = holder.get()
    cancel.check()
    try:
        tier = engines.tier
        tier_label = tier.label
    except AppError as exc:
        tier, tier_label = None, f"tier error: {exc.message}"
    stages = {}
    for stage in ("preview", "final"):
        name = ""
        if tier is not None:
            st = tier.stage(stage)
            entry = engines.catalog.models.get(st.model) if st.model else None
            name = entry.name if entry else ""
            ok, reason = engines.available(stage)
        else:
            ok, reason = False, tier_label
        stages[stage] = StageState(ok, reason, name)
    gpu = hw.best_gpu
    finals, controlnet = [], False
    if tier is not None:
        finals = engines.choices("final")
        cn = engines.catalog.controlnet_for(tier.preview.model) if tier.preview.model else None
        controlnet = cn is not None and bool(engines.store.ready_variants(cn.id))
    speed = None
    if tier is not None:
        from app.inference.probe import matmul_rate  # this task runs on the GPU lane, where torch may be imported
        from app.models.speed import measure

        speed = measure(tier, engines.catalog, torch_rate=matmul_rate if hw.torch_installed else None)
    return EngineStatus(gpu.name if gpu else "no GPU", hw.vram_gib, tier_label, stages, finals, controlnet, speed)


def _server_probe(holder: EngineHolder, cancel: CancelToken) -> EngineStatus:
    """The ComfyUI server's line ("ComfyUI at gpu-box:8188 · RTX 4090 · 24 GB") and what its stages lack, in one
    line each; an unreachable server is said in the line, never raised (no torch here)."""
    from app.backends.comfyui.runner import status_line

    try:
        engines = holder.get()
        line = status_line(holder.server, engines.client.system_stats())
        tier = engines.tier
    except AppError as exc:
        line = f"ComfyUI at {holder.server.label}: {exc.one_line()}"
        return EngineStatus(line, 0, "", {s: StageState(False, line, "") for s in ("preview", "final")}, server=True)
    stages = {}
    for stage in ("preview", "final"):
        cancel.check()
        stages[stage] = StageState(*engines.stage_state(stage))  # the model and variant the server would run
    cancel.check()  # the pickers: the models and the ControlNet the server has (files from its /models lists)
    return EngineStatus(line, 0, tier.label, stages, engines.choices("final"), engines.controlnet_ready(), server=True)
