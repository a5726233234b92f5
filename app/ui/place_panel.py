"""The left panel's "Find a place" box: search a place (Nominatim, on Enter or Search only — never per keystroke),
pick one of the results to fetch the OpenStreetMap data around it (Overpass), add the surroundings of the files
open, switch relief on, save what was fetched. All network work runs on the session's worker lanes, with progress
and Cancel in the status bar; a failure is one line in the message bar and the map stays as it was."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.sources import SourceConfig
from app.ui.composition import Composition
from app.ui.fetch_tasks import Fetched, FetchRequest, SearchRequest, copy_task, fetch_task, search_task
from app.ui.messages import plain_words
from app.ui.workers import Job

RADIUS_KM = (0.5, 20.0, 2.0)  # the radius control: least, most, default
RADIUS_DEBOUNCE_MS = 800  # a new radius fetches again this long after the last change
SAME_QUERY_S = 1.0  # the same search again within this is ignored (a double Enter); Nominatim allows 1 a second
RELIEF_TIP = "hillshade relief from elevation tiles under the map (fetched, then cached)"


class PlacePanel(QGroupBox):
    message = Signal(str, str)  # one line, level ("error" | "warning" | "info")
    changed = Signal()  # the relief toggle: a composition edit

    def __init__(self, session, config: Callable[[], SourceConfig], parent: QWidget | None = None) -> None:
        super().__init__("Find a place", parent)
        self.session = session
        self.config = config
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.query = QLineEdit(self)
        self.query.setObjectName("place_query")
        self.query.setPlaceholderText("Find a place…")
        self.query.setClearButtonEnabled(True)
        self.query.setToolTip("a town, a mountain, an address; press Enter to search OpenStreetMap (Nominatim)")
        self.query.returnPressed.connect(self.search)
        self.search_button = QPushButton("Search", self)
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.query, 1)
        row.addWidget(self.search_button)
        lay.addLayout(row)
        self.results = QListWidget(self)
        self.results.setObjectName("place_results")
        self.results.setToolTip("pick a place to fetch its OpenStreetMap data")
        self.results.itemClicked.connect(self._picked_item)
        self.results.itemActivated.connect(self._picked_item)
        self.results.hide()
        lay.addWidget(self.results)
        form = QFormLayout()
        self.radius = QDoubleSpinBox(self)
        lo, hi, default = RADIUS_KM
        self.radius.setRange(lo, hi)
        self.radius.setSingleStep(0.5)
        self.radius.setDecimals(1)
        self.radius.setValue(default)
        self.radius.setSuffix(" km")
        self.radius.setKeyboardTracking(False)
        self.radius.setToolTip("how far around the place (or around the files open) to fetch")
        form.addRow("Radius", self.radius)
        lay.addLayout(form)
        self.surroundings = QCheckBox("Add surroundings from OpenStreetMap", self)
        self.surroundings.setToolTip("fetch the roads, water, woods and villages around the files open")
        self.surroundings.setEnabled(False)
        self.surroundings.toggled.connect(self._surroundings_toggled)
        self.relief = QCheckBox("Relief", self)
        self.relief.setToolTip(RELIEF_TIP)
        self.relief.toggled.connect(self.changed)
        lay.addWidget(self.surroundings)
        lay.addWidget(self.relief)
        self.status = QLabel(self)
        self.status.setObjectName("place_status")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("QLabel#place_status { color: #666; }")
        self.status.hide()
        lay.addWidget(self.status)

        self._places: list = []  # [app.sources.places.Place] shown in the results
        self._picked = None  # the Place whose data is (being) fetched
        self._layers: dict[str, Path] = {}  # "place" / "surroundings" → the fetched file layered in the session
        self._labels: dict[Path, str] = {}
        self._around: tuple[Path, ...] = ()  # the files the surroundings were fetched around
        self._last_query: tuple[str, float] = ("", -1e9)
        self._radius_timer = QTimer(self)
        self._radius_timer.setSingleShot(True)
        self._radius_timer.setInterval(RADIUS_DEBOUNCE_MS)
        self._radius_timer.timeout.connect(self._radius_changed)
        self.radius.valueChanged.connect(lambda _v: self._radius_timer.start())
        session.files_changed.connect(self.files_changed)

    # ----- search -------------------------------------------------------------------------------------------
    def search(self) -> Job | None:
        """Search the text typed (Enter or Search); the same text again within a second is not asked again."""
        q = " ".join(self.query.text().split())
        if not q:
            return None
        last, at = self._last_query
        running = self.session.lanes.current("place-search")
        if q == last and (running is not None or time.monotonic() - at < SAME_QUERY_S):
            return running
        self._last_query = (q, time.monotonic())
        job = Job(search_task, SearchRequest(q, self.config()), name="place-search")
        job.succeeded.connect(lambda places, q=q: self._found(q, places))
        job.failed.connect(lambda exc: self._search_failed(exc))
        job.cancelled.connect(lambda: self._show_status(None))
        self.session.job_started.emit(job, f"Searching for {q}")
        self._show_status(f"Searching for {q}…")
        return self.session.lanes.submit(job, key="place-search")

    def _search_failed(self, exc: BaseException) -> None:
        self._show_status(None)
        self.message.emit(f"Place search failed: {plain_words(exc)}", "error")

    def _found(self, query: str, places: list) -> None:
        self._places = list(places)
        self.results.clear()
        for p in self._places:
            item = QListWidgetItem(p.label())
            item.setToolTip(p.display_name)
            self.results.addItem(item)
        self.results.setVisible(bool(self._places))
        self.results.setMaximumHeight(8 + 22 * min(max(len(self._places), 1), 6))
        if not self._places:
            self._show_status(None)
            self.message.emit(f"No place called '{query}' was found (OpenStreetMap Nominatim)", "error")
        else:
            n = len(self._places)
            self._show_status(f"{n} place{'s' if n > 1 else ''} found: pick one to fetch its map")

    def _picked_item(self, item: QListWidgetItem) -> None:
        row = self.results.row(item)
        if 0 <= row < len(self._places):
            self.pick(self._places[row])

    def pick(self, place) -> Job:
        """Fetch the OpenStreetMap data of the radius around `place` and layer it like a dropped file."""
        self._picked = place
        km = self.radius.value()
        return self._fetch(
            FetchRequest("place", f"{place.name} ({km:g} km around)", self.config(), place=place,
                         radius_m=km * 1000.0, aspect=self._aspect(), query=self._last_query[0])
        )  # fmt: skip

    def _aspect(self) -> float:
        return self.session.composition.aspect_ratio()

    # ----- surroundings -------------------------------------------------------------------------------------
    def _own_files(self) -> list:
        fetched = set(self._layers.values())
        return [f for f in self.session.files if f.path not in fetched]

    def _surroundings_toggled(self, on: bool) -> None:
        if on:
            self._fetch_surroundings()
            return
        job = self.session.lanes.current("fetch-surroundings")
        if job is not None:
            job.cancel()
        path = self._layers.pop("surroundings", None)
        self._around = ()
        if path is not None:
            self.session.remove_files([str(path)])

    def _fetch_surroundings(self) -> Job | None:
        own = self._own_files()
        if not own:
            self._uncheck_surroundings()
            return None
        self._around = tuple(f.path for f in own)
        names = ", ".join(f.label or f.path.name for f in own)
        km = self.radius.value()
        label = f"surroundings of {names[:60]} ({km:g} km)"
        req = FetchRequest("surroundings", label, self.config(), around=tuple(f.data for f in own), radius_m=km * 1000,
                           aspect=self._aspect())  # fmt: skip
        return self._fetch(req)

    def _uncheck_surroundings(self) -> None:
        blocker = QSignalBlocker(self.surroundings)
        self.surroundings.setChecked(False)
        del blocker

    def files_changed(self, files) -> None:
        """Files came or went: forget fetched layers the person removed, offer surroundings for their own files
        and fetch them again around a new set of files."""
        present = {f.path for f in files}
        for kind, path in list(self._layers.items()):
            if path not in present:
                del self._layers[kind]
                if kind == "surroundings" and self.session.lanes.current("fetch-surroundings") is None:
                    self._uncheck_surroundings()
        own = self._own_files()
        self.surroundings.setEnabled(bool(own) or self.surroundings.isChecked())
        if not own:
            if self.surroundings.isChecked() and "surroundings" not in self._layers:
                self._uncheck_surroundings()
            self.surroundings.setEnabled(False)
            return
        if self.surroundings.isChecked() and tuple(f.path for f in own) != self._around:
            self._fetch_surroundings()

    # ----- fetching -----------------------------------------------------------------------------------------
    def _fetch(self, req: FetchRequest) -> Job:
        job = Job(fetch_task, req, name=f"fetch-{req.kind}")
        job.succeeded.connect(self._fetched)
        job.failed.connect(lambda exc, r=req: self._fetch_failed(r, exc))
        job.cancelled.connect(lambda r=req: self._fetch_cancelled(r))
        self.session.job_started.emit(job, f"Fetching OpenStreetMap data: {req.label}")
        self._show_status(f"Fetching {req.label}…")
        return self.session.lanes.submit(job, key=f"fetch-{req.kind}")

    def _fetched(self, res: Fetched) -> None:
        if res.kind == "surroundings" and not self.surroundings.isChecked():
            return  # switched off while it was on its way
        replacing = self._layers.get(res.kind)
        self._layers[res.kind] = res.file.path
        self._labels[res.file.path] = res.file.label or res.file.path.name
        self._show_status(f"{res.file.label}: {len(res.file.data):,} features")
        self.session.add_loaded(res.file, replacing=replacing)

    def _fetch_failed(self, req: FetchRequest, exc: BaseException) -> None:
        what = "the surroundings" if req.kind == "surroundings" else req.label
        self.message.emit(f"Could not fetch {what}: {plain_words(exc)}", "error")
        self._show_status(None)
        if req.kind == "surroundings" and "surroundings" not in self._layers:
            self._uncheck_surroundings()

    def _fetch_cancelled(self, req: FetchRequest) -> None:
        if self.session.lanes.current(f"fetch-{req.kind}") is not None:
            return  # superseded by a newer fetch of the same kind
        self._show_status(None)
        if req.kind == "surroundings" and "surroundings" not in self._layers:
            self._uncheck_surroundings()

    def _radius_changed(self) -> None:
        if self._picked is not None and "place" in self._layers:
            self.pick(self._picked)
        if self.surroundings.isChecked():
            self._fetch_surroundings()

    def _show_status(self, text: str | None) -> None:
        self.status.setText(text or "")
        self.status.setVisible(bool(text))

    # ----- saving -------------------------------------------------------------------------------------------
    def fetched_files(self) -> list[tuple[str, Path]]:
        """(label, cached file) of each fetched layer open."""
        present = {f.path for f in self.session.files}
        return [(self._labels.get(p, p.name), p) for p in self._layers.values() if p in present]

    def save_fetched(self, start_dir: str = "") -> Job | None:
        """File → Save fetched data…: copy the cached .osm file(s) where the person says (on a worker)."""
        files = self.fetched_files()
        if not files:
            self.message.emit("Nothing has been fetched yet: find a place or add surroundings first", "info")
            return None
        if len(files) == 1:
            label, src = files[0]
            name = str(Path(start_dir or ".") / f"{_slug(label)}.osm")
            dest, _ = QFileDialog.getSaveFileName(self, "Save fetched data", name, "OpenStreetMap XML (*.osm)")
            return self.save_to([(src, Path(dest))]) if dest else None
        folder = QFileDialog.getExistingDirectory(self, "Save fetched data into", start_dir)
        if not folder:
            return None
        return self.save_to([(src, Path(folder) / f"{_slug(label)}.osm") for label, src in files])

    def save_to(self, pairs: list[tuple[Path, Path]]) -> Job:
        def copy_all(jobs, *, progress, cancel):
            return [copy_task(j, progress=progress, cancel=cancel) for j in jobs]

        job = Job(copy_all, pairs, name="save-fetched")
        job.succeeded.connect(lambda out: self.message.emit("Saved " + ", ".join(str(p) for p in out), "info"))
        job.failed.connect(lambda exc: self.message.emit(f"Could not save the fetched data: {plain_words(exc)}",
                                                         "error"))  # fmt: skip
        self.session.job_started.emit(job, "Saving the fetched data")
        return self.session.lanes.submit(job)

    # ----- composition --------------------------------------------------------------------------------------
    def read(self, c: Composition) -> Composition:
        return c.with_(terrain=self.relief.isChecked()) if self.relief.isEnabled() else c

    def apply(self, c: Composition) -> None:
        blocker = QSignalBlocker(self.relief)
        self.relief.setChecked(bool(getattr(c, "terrain", False)))
        del blocker


def _slug(label: str) -> str:
    """A file name from a layer's label: "Kranjska Gora (2 km around)" → "Kranjska Gora 2 km around"."""
    text = re.sub(r"[^\w\- ]+", " ", label, flags=re.UNICODE)
    return " ".join(text.split())[:80] or "fetched"
