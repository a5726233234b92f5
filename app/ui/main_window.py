"""The main window: map panel · preview · style panel, actions, progress, history, status."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.settings import Settings
from app.ui.bars import EngineStatus, ProgressPanel
from app.ui.composition import Composition
from app.ui.history import Entry, HistoryStrip
from app.ui.map_panel import MapPanel
from app.ui.messages import MessageBar
from app.ui.place_panel import PlacePanel
from app.ui.preview import PreviewPane
from app.ui.queue import QueueItem, QueuePanel, RenderQueue
from app.ui.session import Session
from app.ui.style_panel import StylePanel
from app.ui.tasks import EngineHolder, RenderJob, render_task
from app.ui.workers import Job

log = logging.getLogger(__name__)
MAP_FILTER = "Map data (*.geojson *.json *.gpx *.kml *.kmz *.shp *.zip *.gpkg *.fgb *.osm *.pbf *.png);;All files (*)"


class MainWindow(QMainWindow):
    sketch_shown = Signal()

    def __init__(self, settings: Settings | None = None, *, config_dir: Path | None = None, probe: bool = True):
        super().__init__()
        from app.paths import user_styles_dir
        from app.styles.catalog import load_styles

        self.settings = settings or Settings()
        self.config_dir = config_dir
        errors: list[AppError] = []
        styles = load_styles(user_styles_dir(), errors=errors)
        from app.backends.comfyui.tokens import server_config

        holder = EngineHolder(
            self.settings.models_dir or None,
            self.settings.tier_override or None,
            self.settings.model_cache_gb,
            server=server_config(self.settings, deferred=True),  # None: this computer; the token is read off-thread
        )
        self.session = Session(styles, holder, self)
        self.setWindowTitle("MapBrush")
        self.setAcceptDrops(True)
        self.resize(1500, 920)

        self.map_panel = MapPanel(self)
        self.place_panel = PlacePanel(self.session, self.source_config, self)
        self.map_panel.layout().insertWidget(0, self.place_panel)  # the top of the left column
        self.style_panel = StylePanel(styles, self)
        self.preview = PreviewPane(self)
        self.messages = MessageBar(self)
        self.history = HistoryStrip(self)
        self.render_queue = RenderQueue(self.session.lanes, self)  # Final renders and "Add to queue", in order
        self.queue_panel = QueuePanel(self.render_queue, self)  # above the history strip; hidden when empty
        self.progress_panel = ProgressPanel(self)
        self.engine_status = EngineStatus(self)
        self._build_layout()
        self._build_actions_row()
        from app.ui import repaint

        self.repaint = repaint.attach(self)  # brush an area of the Preview/Final, Repaint; Undo (Ctrl+Z)
        from app.ui.menus import build_menus

        build_menus(self)

        style = self.settings.style if self.settings.style in styles else next(iter(styles))
        c = Composition.from_settings(self.settings, style)  # the framing and layers of the last run
        self.map_panel.apply(c)
        self.style_panel.apply(c)
        self.place_panel.apply(c)
        self.session.composition = self._read_composition()
        self._foreground: list[Job] = []
        self._warnings_shown: tuple = ()  # the warnings last put in the bar: not shown again once dismissed
        self._connect()
        self._update_ai_buttons()
        if errors:
            self.messages.show_message(
                "Some of your style files were skipped: " + "; ".join(e.one_line() for e in errors)
            )
        warm_up_imports()
        if probe:
            self.session.probe()

    # ----- layout ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        left = QScrollArea(self)
        left.setWidget(self.map_panel)
        left.setWidgetResizable(True)
        left.setMinimumWidth(300)
        right = QScrollArea(self)
        right.setWidget(self.style_panel)
        right.setWidgetResizable(True)
        right.setMinimumWidth(360)
        centre = QWidget(self)
        self.centre_layout = QVBoxLayout(centre)
        self.centre_layout.setContentsMargins(4, 4, 4, 4)
        self.centre_layout.addWidget(self.messages)
        self.centre_layout.addWidget(self.preview, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(centre)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([320, 800, 380])
        self.setCentralWidget(split)
        self.statusBar().addWidget(self.progress_panel, 1)
        self.statusBar().addPermanentWidget(self.engine_status)

    def _build_actions_row(self) -> None:
        row = QHBoxLayout()
        self.preview_button = QPushButton("Preview", self)
        self.preview_button.setObjectName("preview_button")
        self.final_button = QPushButton("Final render", self)
        self.final_button.setObjectName("final_button")
        self.models_button = QPushButton("Manage models…", self)
        self.export_button = QPushButton("Export PNG…", self)
        self.export_button.setEnabled(False)
        for b in (self.preview_button, self.final_button, self.models_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.export_button)
        self.centre_layout.addLayout(row)
        self.centre_layout.addWidget(self.queue_panel)
        self.centre_layout.addWidget(self.history)

    def _connect(self) -> None:
        s = self.session
        self.map_panel.changed.connect(self._composition_edited)
        self.style_panel.changed.connect(self._composition_edited)
        self.place_panel.changed.connect(self._composition_edited)
        self.place_panel.message.connect(lambda text, level: self.messages.show_message(text, level=level))
        self.map_panel.open_requested.connect(self.open_dialog)
        self.map_panel.remove_requested.connect(s.remove_files)
        s.files_changed.connect(self._files_changed)
        s.load_errors.connect(lambda errs: self.messages.show_message("Could not load: " + "; ".join(errs)))
        s.sketch_ready.connect(self._sketch_ready)
        s.subject_ready.connect(self.style_panel.set_place)
        s.ai_ready.connect(self._ai_ready)
        s.thumbnail_ready.connect(self.style_panel.set_thumbnail)
        s.engine_status.connect(self._engine_status)
        s.png_adopted.connect(lambda png: self.preview.set_stage_image("preview", png.display, show=True))
        s.job_started.connect(self._job_started)
        s.job_failed.connect(self.messages.show_error)
        s.exported.connect(lambda p: self.messages.show_message(f"Saved {p}", level="info"))
        self.messages.action.connect(self._message_action)
        self.preview_button.clicked.connect(lambda: self._run_ai("preview"))
        self.final_button.clicked.connect(lambda: self._run_ai("final"))
        self.models_button.clicked.connect(self.manage_models)
        self.engine_status.manage_models.connect(self.manage_models)
        self.export_button.clicked.connect(self.export_dialog)
        self.progress_panel.cancel_requested.connect(self.cancel_foreground)
        self.history.restore.connect(self._restore_entry)
        self.render_queue.result.connect(self._queued_done)
        self.render_queue.failed.connect(
            lambda item, exc: self.messages.show_error(f"The queued render ({item.label}) failed", exc)
        )

    # ----- loading --------------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Map files are loaded and layered; a MapBrush PNG restores its settings."""
        paths = [Path(p) for p in paths]
        pngs = [p for p in paths if p.suffix.lower() == ".png"]
        maps = [p for p in paths if p.suffix.lower() != ".png"]
        for png in pngs:
            maps += self.restore_from_png(png)
        if maps:
            self.session.add_files(maps)
            for p in maps:
                self.settings.add_recent(str(p))

    def restore_from_png(self, png: Path) -> list[Path]:
        """Apply the settings in a MapBrush PNG; returns its input files when found beside it."""
        from app.export.png import read_metadata

        try:
            meta = read_metadata(png)
        except AppError as exc:
            self.messages.show_message(exc.one_line())
            return []
        if meta is None:
            self.messages.show_message(f"{png.name}: this PNG has no MapBrush settings in it")
            return []
        picture = self.session.continue_from_png(png, meta) is not None
        comp = Composition.from_metadata(meta, base=self.session.composition)
        if comp.style not in self.style_panel.cards:
            comp = comp.with_(style=self.session.composition.style)
        loaded = {f.path.name for f in self.session.files}
        folders = [png.parent] + [f.path.parent for f in self.session.files]
        loras, style_image, extra_notes = self._restore_extras(meta, comp.style, folders)
        self.apply_composition(comp.with_(style_image=style_image))
        if meta.get("stages"):  # an AI picture: its LoRAs replace the style's attached ones
            self.set_style_loras(loras, comp.style)
        found, missing = [], []
        for inp in meta.get("inputs", []):
            name = inp.get("name") if isinstance(inp, dict) else None
            if not name or name in loaded:
                continue
            hit = next((d / name for d in folders if (d / name).is_file()), None)
            (found if hit else missing).append(hit or name)
        frame_note = self.session.restore_frame(comp.frame_group, meta, loading=bool(found) and not missing)
        text = f"Restored the settings of {png.name}"
        if picture:
            text += "; its picture is the preview again: Final render re-paints it"
        if missing:
            text += f"; open {', '.join(map(str, missing))} to re-render it"
        if frame_note:
            text += f"; {frame_note}"
        for note in extra_notes:
            text += f"; {note}"
        self.messages.show_message(text, level="info")
        return found

    def _restore_extras(self, meta: dict, style: str, folders: list[Path]) -> tuple[list, str, list[str]]:
        """The PNG's imported LoRAs (by sha256; the style's own left to the style) and its style image."""
        from app.inference import lora
        from app.models.loras import LoraLibrary
        from app.ui.composition import restore_extras

        library = LoraLibrary(self.settings.models_dir or None)
        own = set()
        for spec in getattr(self.session.styles.get(style), "loras", ()):
            try:
                own.add(lora.sha256(lora.resolved(spec, self.settings.models_dir or None).path))
            except (AppError, OSError):
                continue
        try:
            return restore_extras(meta, folders, library, own)
        except AppError as exc:
            return [], "", [exc.one_line()]

    def set_style_loras(self, items, style: str | None = None) -> None:
        """Attach imported LoRAs ((id, weight, engine)) to a style; kept in the settings, used by the AI renders."""
        c = self.session.composition.with_style_loras(items, style)
        c.remember(self.settings)
        self.session.set_composition(c)

    def manage_loras(self) -> None:
        from app.ui.loras_dialog import LorasDialog

        LorasDialog(self).open()

    def open_dialog(self) -> None:
        start = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        files, _ = QFileDialog.getOpenFileNames(self, "Open map files", start, MAP_FILTER)
        if files:
            self.open_paths(files)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def _files_changed(self, files) -> None:
        self.map_panel.set_files(files)
        place = self.session.data.place_name() if self.session.data is not None else None
        self.map_panel.clear_defaults()  # the next sketch shows the new data's default title and subtitle
        self.style_panel.set_place(None)  # until the sketch's map is described (session.subject_ready)
        self.setWindowTitle(f"MapBrush — {place}" if place else "MapBrush")
        if not files:
            self.preview.clear()
            self.style_panel.clear_thumbnails()
        self._update_ai_buttons()

    # ----- composition ----------------------------------------------------------------------------
    def _read_composition(self) -> Composition:
        c = self.session.composition
        return self.place_panel.read(self.style_panel.read(self.map_panel.read(c)))

    def _composition_edited(self) -> None:
        c = self._read_composition()
        c.remember(self.settings)
        self.session.set_composition(c)
        self._update_ai_buttons()  # the final model picked may be installed or not

    def apply_composition(self, c: Composition) -> None:
        self.map_panel.apply(c)
        self.style_panel.apply(c)
        self.place_panel.apply(c)
        self.session.set_composition(self._read_composition())

    # ----- results --------------------------------------------------------------------------------
    def _sketch_ready(self, result) -> None:
        self.preview.set_stage_image("structure", result.layers.structure)
        for stage in ("preview", "final"):
            self.preview.set_stage_image(stage, None)
        self.preview.set_stage_image("sketch", result.image, show=self.preview.current not in ("structure",))
        self.style_panel.show_used_seed(result.metadata.get("seed"))
        self.map_panel.show_defaults(result.metadata)
        self._show_warnings(result)
        self.export_button.setEnabled(True)
        self._add_history("sketch", result)
        self._update_ai_buttons()
        self.sketch_shown.emit()

    def _show_warnings(self, result) -> None:
        """What reading and rendering warned about, in the message bar; data in groups far apart gets links
        that frame one group (or all again)."""
        from app.ui.notices import warning_lines

        lines, links, label = warning_lines(result, self.session.composition.frame_group)
        key = (tuple(lines), tuple(links))
        if key == self._warnings_shown:
            return  # the same as before (a style change): if dismissed, it stays dismissed
        self._warnings_shown = key
        if lines:
            self.messages.show_warnings(lines, links=links, links_label=label)
        elif self.messages.isVisible() and self.messages.level == "warning":
            self.messages.hide()  # the map changed and its warnings are gone

    def _message_action(self, key: str) -> None:
        if key.startswith("frame:"):
            self.session.frame_group(int(key.split(":", 1)[1]))

    def _ai_ready(self, stage: str, result) -> None:
        if stage == "final" and "preview" in result.stages and "preview" not in self.preview.images:
            self.preview.set_stage_image("preview", result.stages["preview"])
        self.preview.set_stage_image(stage, result.image, show=True)
        self._show_warnings(result)  # and what the AI stage noted (GGUF LoRAs unfused, memory fallbacks)
        self._add_history(stage, result)

    def _add_history(self, stage: str, result, composition: Composition | None = None) -> None:
        seed = result.metadata.get("seed")
        self.history.add(Entry(composition or self.session.composition, stage, result.image, seed))

    def _restore_entry(self, entry: Entry) -> None:
        self.apply_composition(entry.composition)
        self.preview.set_stage_image(entry.stage, entry.image, show=True)

    # ----- AI -------------------------------------------------------------------------------------
    def _engine_status(self, status) -> None:
        self.engine_status.set_status(status)
        speed = getattr(status, "speed", None)
        if speed is not None and speed.slow:  # say it before anyone offers a 20 GB download
            label = self.engine_status.hardware
            label.setText(f"{label.text()} · {speed.short()}")
            label.setToolTip(speed.warning())
        self.style_panel.set_engine_choices(status)
        self._update_ai_buttons()

    def _update_ai_buttons(self) -> None:
        has_map = self.session.data is not None
        missing = False
        for stage, button, label in (("preview", self.preview_button, "Preview"),
                                     ("final", self.final_button, "Final render")):  # fmt: skip
            ok, reason = self.session.can_run(stage)
            button.setEnabled(ok and has_map)
            if ok:
                button.setText(label)
                button.setToolTip("" if has_map else "Load a map first")
            else:
                st = self.session.status.stages.get(stage) if self.session.status else None
                missing |= self.session.status is not None
                short = f"{st.model_name} not installed" if st and st.model_name else "not available"
                button.setText(f"{label} ({short})" if self.session.status else label)
                button.setToolTip(reason)
        self.models_button.setVisible(missing or self.session.status is None)

    def _run_ai(self, stage: str) -> None:
        ok, reason = self.session.can_run(stage)
        if not ok:
            self.messages.show_message(f"The {stage} engine cannot run: {reason}")
            return
        if stage == "final" and (self.session.lanes.current("final") is not None or self.render_queue.busy()):
            self.queue_render("final")  # another final is being painted: this one waits its turn
            return
        self.session.set_composition(self._read_composition(), immediate=False)
        self.session.render_ai(stage)

    # ----- the render queue -----------------------------------------------------------------------
    def queue_render(self, engine: str | None = None, size: tuple[int, int] | None = None) -> QueueItem | None:
        """Queue a render of the settings as they are now (a snapshot: later edits do not change it).
        The engine is the final's when it can run, else the procedural one; the size the preview's."""
        if self.session.data is None:
            self.messages.show_message("Load a map first: there is nothing to render yet")
            return None
        if engine is None:
            engine = "final" if self.session.can_run("final")[0] else "procedural"
        comp = self._read_composition()
        self.session.set_composition(comp, immediate=False)
        req = comp.request(self.session.inputs, size=size, engine=engine)
        if engine != "procedural":
            reference, meta = self.session._reference() if engine == "final" else (None, None)
            req.ai = comp.ai_options(reference, meta)
        names = [f.label or f.path.name for f in self.session.files]
        what = names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")
        label = f"{what} · {comp.style} · {engine} · {req.size[0]}×{req.size[1]}"
        return self.render_queue.add(label, render_task, RenderJob(req, self.session.data, self.session.engines),
                                     extra=(engine, comp))  # fmt: skip

    def _queued_done(self, item: QueueItem, result) -> None:
        if not isinstance(item.extra, tuple):
            return  # not one of the window's renders
        engine, comp = item.extra
        stage = "sketch" if engine == "procedural" else engine
        self._add_history(stage, result, comp)
        if engine != "procedural" and comp.sketch_key() == self.session.composition.sketch_key():
            self.preview.set_stage_image(engine, result.image)  # the map is unchanged: its tab shows it too

    # ----- progress -------------------------------------------------------------------------------
    def _job_started(self, job: Job, what: str) -> None:
        self._foreground = [j for j in self._foreground if not j.done] + [job]
        self.progress_panel.begin(what)
        job.progress.connect(self.progress_panel.update_event)
        job.finished.connect(self._job_finished)
        job.cancelled.connect(lambda: self.progress_panel.idle("Cancelled") if not self._busy() else None)

    def _busy(self) -> bool:
        return any(not j.done for j in self._foreground)

    def _job_finished(self) -> None:
        if not self._busy():
            if self.progress_panel.label.text() != "Cancelled":
                self.progress_panel.idle()
            self._foreground = []

    def cancel_foreground(self) -> None:
        for job in self._foreground:
            job.cancel()

    # ----- dialogs (ui/menus.py builds the menus) -------------------------------------------------
    def export_dialog(self) -> None:
        from app.ui.export_dialog import ExportDialog

        if self.session.data is None:
            return
        ExportDialog(self).open()

    def source_config(self):
        """Endpoints, timeouts and cache of the network sources: the settings, the MAPBRUSH_* variables winning."""
        from app.sources import SourceConfig

        return SourceConfig.load(self.settings)

    def save_fetched_data(self) -> None:
        start = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        self.place_panel.save_fetched(start)

    def manage_models(self) -> None:
        from app.ui.models_dialog import ModelsDialog

        ModelsDialog(self).open()

    def save_settings(self) -> None:
        try:
            self.settings.save(self.config_dir)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def closeEvent(self, event) -> None:
        from app.ui.geometry import save_geometry

        save_geometry(self)
        self.save_settings()
        self.render_queue.clear()
        self.session.shutdown()
        super().closeEvent(event)


def warm_up_imports() -> None:
    """Import the render chain on the GUI thread at start: a first import inside a worker holds the GIL
    for a long stretch (≈130 ms) and would freeze the window while the first sketch paints."""
    import app.carto.compose
    import app.export.metadata
    import app.mapdata.io
    import app.render.overlay
    import app.render.raster
    import app.styles.painter  # noqa: F401
