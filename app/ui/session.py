"""The window's state and its background work: loaded files, the current composition, renders.

The Session owns the lanes and the one EngineHolder; widgets observe its signals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.jobs.render import NoSuchGroup, RenderResult
from app.mapdata.model import MapData
from app.ui.composition import Composition
from app.ui.tasks import (
    KEEP_SERVER,
    EngineHolder,
    ExportJob,
    LoadedFile,
    LoadRequest,
    PngPreview,
    RenderJob,
    export_task,
    load_files,
    probe_task,
    prompt_subject_task,
    read_png_task,
    render_task,
    thumbnail_task,
)
from app.ui.workers import Job, Lanes

DEBOUNCE_MS = 150
AI_STAGES = ("preview", "final")


class Session(QObject):
    files_changed = Signal(list)  # [LoadedFile]
    load_errors = Signal(list)  # [str], one line per file
    sketch_ready = Signal(object)  # RenderResult
    ai_ready = Signal(str, object)  # stage, RenderResult
    thumbnail_ready = Signal(str, object)  # style, ndarray
    engine_status = Signal(object)  # app.ui.tasks.EngineStatus
    job_started = Signal(object, str)  # Job, what (for the progress row)
    job_failed = Signal(str, object)  # what, exception
    exported = Signal(object)  # Path
    png_adopted = Signal(object)  # PngPreview: an exported AI picture is the preview again
    subject_ready = Signal(object, str)  # place, what the map is ("city map of Helsinki"): the prompt's words

    def __init__(self, styles: dict, engines: EngineHolder, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.styles = styles
        self.engines = engines
        self.lanes = Lanes(parent=self)
        self.files: list[LoadedFile] = []
        self.data: MapData | None = None
        self.composition = Composition()
        self.sketch: RenderResult | None = None
        self._sketch_comp: Composition | None = None  # the composition self.sketch was painted with
        self.png_preview: PngPreview | None = None  # a preview taken up from an exported PNG
        self._pending_png: PngPreview | None = None  # read, waiting for its map's sketch
        self.ai_results: dict[str, RenderResult] = {}
        self.subject: tuple[str | None, str] | None = None  # the last sketch's (place, what the map is)
        self._subject_of: tuple | None = None  # (data, frame group) self.subject is of
        self.status = None
        self._png_frame: tuple[int, dict] | None = None  # a restored PNG's frame group, waiting for its files
        self._notes: list[str] = []  # one-line notices shown with the next sketch's warnings
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.render_sketch)

    # ----- files ----------------------------------------------------------------------------------
    def add_files(self, paths: list[Path]) -> Job:
        job = Job(load_files, LoadRequest([Path(p) for p in paths], list(self.files)), name="load")
        job.succeeded.connect(lambda res, j=job: self._loaded(res, j.request))
        job.failed.connect(lambda exc: self.job_failed.emit("Reading the files failed", exc))
        self.job_started.emit(job, "Reading " + ", ".join(Path(p).name for p in paths)[:80])
        return self.lanes.submit(job, priority=5)

    def _loaded(self, res, req: LoadRequest) -> None:
        if res.errors:
            self.load_errors.emit(res.errors)
        if not res.added:
            self._png_frame = None  # its files could not be read: the data is not the PNG's
            return
        if [f.path for f in self.files] == [f.path for f in req.existing]:
            self._set_files(res.files, res.merged)
            return
        # other files came or went while this one was read: layer the new ones on what is there now
        have = {f.path for f in self.files}
        files = self.files + [f for f in res.files if f.path in set(res.added) and f.path not in have]
        self._set_files(files, MapData.merge([f.data for f in files]))

    def add_loaded(self, loaded: LoadedFile, *, replacing: Path | None = None) -> None:
        """Layer a file read elsewhere (fetched OpenStreetMap data) under the files open (they draw on top), in
        place of `replacing`."""
        gone = {loaded.path} | ({replacing} if replacing is not None else set())
        files = [loaded] + [f for f in self.files if f.path not in gone]
        self._set_files(files, MapData.merge([f.data for f in files]))

    def remove_files(self, paths: list[str]) -> None:
        gone = {Path(p) for p in paths}
        files = [f for f in self.files if f.path not in gone]
        self._set_files(files, MapData.merge([f.data for f in files]) if files else None)

    def _set_files(self, files: list[LoadedFile], merged: MapData | None) -> None:
        pending, self._png_frame = self._png_frame, None
        if pending is not None:  # a restored PNG's group, if these are the files it was made from
            group, note = _png_group(*pending, merged)
            self.composition = self.composition.with_(frame_group=group)
            self._notes += [note] if note else []
        elif self.files and self.composition.frame_group:  # other files, other groups: frame all again
            self.composition = self.composition.with_(frame_group=0)
        self.files, self.data = files, merged
        self.sketch = None
        self.subject = self._subject_of = None
        self.ai_results.clear()
        self.files_changed.emit(files)
        if merged is not None:
            self.render_sketch()
            self.render_thumbnails()

    @property
    def inputs(self) -> list[Path]:
        return [f.path for f in self.files]

    # ----- the sketch -----------------------------------------------------------------------------
    def set_composition(self, c: Composition, *, immediate: bool = False) -> None:
        same_sketch = c.sketch_key() == self.composition.sketch_key()
        self.composition = c
        if self.data is None or (same_sketch and self.sketch is not None):
            return  # prompt, creativity, guide or final model: the next AI run uses them; the sketch stands
        if immediate:
            self.render_sketch()
        else:
            self._debounce.start()

    def render_sketch(self) -> Job | None:
        self._debounce.stop()
        if self.data is None:
            return None
        comp = self.composition
        job = Job(render_task, RenderJob(comp.request(self.inputs), self.data), name="sketch")
        job.succeeded.connect(lambda res, c=comp: self._sketched(res, c))
        job.failed.connect(lambda exc, c=comp: self._sketch_failed(exc, c))
        self.job_started.emit(job, "Painting the sketch")
        return self.lanes.submit(job, key="sketch", priority=10)

    def _sketched(self, result: RenderResult, comp: Composition) -> None:
        if comp.sketch_key() != self.composition.sketch_key():
            return  # a newer request is on its way
        if self._notes:
            result.warnings[:0], self._notes = self._notes, []
        self.sketch, self._sketch_comp = result, comp
        self.ai_results.clear()
        self.png_preview = None
        self.sketch_ready.emit(result)
        self._describe(result, comp)
        self._adopt_png()

    def _describe(self, result: RenderResult, comp: Composition) -> None:
        """What the AI prompt would call the sketch's map, worked out on the CPU lane after the sketch (the
        gazetteer takes seconds to load the first time): neither the sketch nor the GUI thread waits for it."""
        of = (id(result.data), comp.frame_group)
        if of == self._subject_of:
            return  # a style or framing change: the same map, the same words
        self._subject_of = of
        req = comp.request(self.inputs)
        job = Job(prompt_subject_task, (req, result.data, result.groups), name="subject")
        job.succeeded.connect(lambda subject, o=of: self._described(subject, o))
        self.lanes.submit(job, key="subject", priority=0)

    def _described(self, subject: tuple[str | None, str], of: tuple) -> None:
        if of != self._subject_of:
            return  # other data came meanwhile
        self.subject = subject
        self.subject_ready.emit(*subject)

    def _sketch_failed(self, exc: Exception, comp: Composition) -> None:
        if isinstance(exc, NoSuchGroup) and comp.frame_group == self.composition.frame_group != 0:
            self._notes.append(f"{exc.message}: framing all of the data")  # the data changed under the choice
            self.frame_group(0)
            return
        self.job_failed.emit("The sketch could not be painted", exc)

    def frame_group(self, n: int) -> None:
        """Frame group n of the data's groups far apart (0: all of it)."""
        if n != self.composition.frame_group:
            self.set_composition(self.composition.with_(frame_group=n), immediate=True)

    def restore_frame(self, n: int, meta: dict, *, loading: bool) -> str | None:
        """Frame group n as the PNG with `meta` did, only when the files open are the ones it was made from
        (its groups are theirs); `loading`: its files are being read, so that is decided once they are.
        Returns a one-line notice when the group is dropped."""
        self._png_frame = (n, meta) if n and loading else None
        if self._png_frame is not None:
            return None
        group, note = _png_group(n, meta, self.data)
        self.frame_group(group)
        return note

    # ----- a preview from an exported PNG ------------------------------------------------------------
    def continue_from_png(self, path: Path, meta: dict) -> Job | None:
        """Take up the AI picture in a MapBrush PNG as the preview, once its map is loaded and sketched."""
        if meta.get("engine") not in AI_STAGES:
            return None
        job = Job(read_png_task, (Path(path), meta), name="read-png")
        job.succeeded.connect(self._png_read)
        job.failed.connect(lambda exc: self.job_failed.emit(f"{Path(path).name} could not be read", exc))
        return self.lanes.submit(job, key="read-png", priority=5)

    def _png_read(self, png: PngPreview) -> None:
        self._pending_png = png
        self._adopt_png()

    def _adopt_png(self) -> None:
        png = self._pending_png
        if png is None or self.sketch is None or self.data is None or self._sketch_comp is None:
            return
        if self._sketch_comp.sketch_key() != self.composition.sketch_key():
            return  # a sketch with the PNG's settings is on its way
        from app.jobs.reference import made_from

        if not made_from(png.metadata, self.data):
            return  # its map files are still loading (or are not these)
        self._pending_png, self.png_preview = None, png
        self.png_adopted.emit(png)

    def _reference(self) -> tuple[np.ndarray | None, dict | None]:
        """What the final re-paints: this session's preview, else a preview taken up from a PNG."""
        prev = self.ai_results.get("preview")
        if prev is not None:
            return prev.stages.get("preview"), None
        if self.png_preview is not None:
            return self.png_preview.image, self.png_preview.metadata
        return None, None

    def render_thumbnails(self) -> None:
        if self.data is None:
            return
        base = self.composition
        for name in self.styles:
            req = base.with_(style=name, seed_locked=False).request(self.inputs)
            job = Job(thumbnail_task, RenderJob(req, self.data), name=f"thumb:{name}")
            job.succeeded.connect(lambda img, n=name: self.thumbnail_ready.emit(n, img))
            self.lanes.submit(job, key=f"thumb:{name}", priority=-5)

    # ----- AI -------------------------------------------------------------------------------------
    def probe(self) -> Job:
        job = Job(probe_task, self.engines, name="probe")
        job.succeeded.connect(self._probed)
        job.failed.connect(lambda exc: self.job_failed.emit("Could not look at the GPU and models", exc))
        return self.lanes.submit(job, lane="gpu", key="probe")

    def _probed(self, status) -> None:
        self.status = status
        self.engine_status.emit(status)

    def reset_engines(self, models_dir: str | None, tier_override: str | None, cache_gb: float | None = None,
                      server=KEEP_SERVER) -> None:  # fmt: skip
        """New models folder, tier, model memory or ComfyUI server (a ServerConfig; None: this computer): rebuild
        the Engines on the GPU lane, then look again (the status bar then names the backend)."""

        def reset(holder: EngineHolder, **_kw) -> None:
            holder.reset(models_dir, tier_override, cache_gb, server)

        self.lanes.submit(Job(reset, self.engines, name="reset-engines"), lane="gpu")
        self.status = None
        self.probe()

    def can_run(self, stage: str) -> tuple[bool, str]:
        if self.status is None:
            return False, "checking the GPU and the installed models…"
        st = self.status.stages.get(stage)
        chosen = self.composition.final_model if stage == "final" else ""
        pick = next((c for c in self.status.final_models if c.ref == chosen), None) if chosen else None
        if pick is not None and not pick.default:
            return (True, "") if pick.installed else (False, f"{pick.name} is not installed; {pick.install}")
        return (st.ok, st.reason) if st else (False, f"unknown stage {stage}")

    def render_ai(self, stage: str) -> Job | None:
        if self.data is None or stage not in AI_STAGES:
            return None
        comp = self.composition
        reference, meta = self._reference() if stage == "final" else (None, None)
        req = comp.request(self.inputs, engine=stage)
        req.ai = comp.ai_options(reference, meta)
        job = Job(render_task, RenderJob(req, self.data, self.engines), name=stage)
        job.succeeded.connect(lambda res, s=stage, c=comp: self._ai_done(s, res, c))
        job.failed.connect(lambda exc, s=stage: self.job_failed.emit(f"The {s} could not be painted", exc))
        self.job_started.emit(job, f"{stage.title()}: starting the AI engine")
        return self.lanes.submit(job, lane="gpu", key=stage)

    def _ai_done(self, stage: str, result: RenderResult, comp: Composition) -> None:
        if comp.sketch_key() != self.composition.sketch_key():  # the map changed under it
            return
        self.ai_results[stage] = result
        if stage == "final" and "preview" in result.stages and "preview" not in self.ai_results:
            self.ai_results["preview"] = result
        self.ai_ready.emit(stage, result)

    # ----- export ---------------------------------------------------------------------------------
    def export(
        self,
        out: Path,
        size: tuple[int, int],
        *,
        dpi: float | None = None,
        engine: str = "procedural",
        bleed_px: int = 0,
        paper: dict | None = None,
    ) -> Job:
        comp = self.composition
        req = comp.request(self.inputs, size=size, engine=engine)
        req.dpi = dpi
        if bleed_px:  # the margin grows by the bleed, so nothing important sits in it (as `render --bleed`)
            req.margin = (req.margin * (min(size) - 2 * bleed_px) + bleed_px) / min(size)
        if engine != "procedural":
            reference, meta = self._reference() if engine == "final" else (None, None)
            req.ai = comp.ai_options(reference, meta)
        lane = "gpu" if engine != "procedural" else "cpu"
        extra = {"paper": paper} if paper else None  # the paper, bleed and trim box, into the picture's metadata
        job = Job(export_task, ExportJob(req, self.data, Path(out), self.engines, extra), name="export")
        job.succeeded.connect(self.exported)
        job.failed.connect(lambda exc: self.job_failed.emit("The PNG could not be exported", exc))
        self.job_started.emit(job, f"Exporting {Path(out).name}")
        return self.lanes.submit(job, lane=lane, key="export", priority=8)

    def shutdown(self) -> None:
        self._debounce.stop()
        self.lanes.cancel_all()
        self.lanes.wait(10000)
        self.lanes.shutdown()


def _png_group(n: int, meta: dict, data: MapData | None) -> tuple[int, str | None]:
    """(the group to frame, why not n): a PNG's group n is kept only for the data of the files it was made from."""
    from app.jobs.reference import made_from

    if not n or (data is not None and made_from(meta, data)):
        return n, None
    return 0, f"not framing group {n} as the PNG did: the files open are not the ones it was made from"


def stage_images(result: RenderResult) -> dict[str, np.ndarray]:
    """What the stage switcher can show for a result: finished image under its engine's name."""
    out = {result.engine if result.engine != "procedural" else "sketch": result.image}
    return out
