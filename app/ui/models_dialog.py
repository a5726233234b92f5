"""Manage models: the catalog with what is installed, download (resumable, cancellable) and remove."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.ui.messages import plain_words
from app.ui.workers import Job


def _install_ai(args, *, progress, cancel):
    from app.models import runtime

    target, plan = args
    runtime.install_ai_runtime(target, plan, progress=progress, cancel=cancel)
    return runtime.activate(target)


def ai_libraries_present() -> bool:
    """Whether PyTorch and diffusers can be imported (without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "diffusers"))


def _download(args, *, progress, cancel):
    store, model_id, variant = args
    return store.download(model_id, variant, progress=progress, cancel=cancel)


def _import(args, *, progress, cancel):
    """Validated like `mapbrush models import`: the file or folder is sniffed and registered where it is."""
    from pathlib import Path

    from app.errors import InputError

    store, path = args
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=str(path))
    return store.import_path(path)


def _verify(args, *, progress, cancel):
    store, model_id, variant = args
    return store.verify(model_id, variant, progress=progress, cancel=cancel)


def _repair(args, *, progress, cancel):
    store, model_id, variant = args
    return store.repair(model_id, variant, progress=progress, cancel=cancel)


class ModelsDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        from app.models.catalog import load_catalog
        from app.models.store import ModelStore

        self.win = win
        self.setWindowTitle("Manage models")
        self.resize(900, 420)
        self.catalog = load_catalog()
        self.store = ModelStore(self.catalog, win.settings.models_dir or None)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(self)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.speed = QLabel(self)  # how long an AI image takes here, when that is minutes
        self.speed.setWordWrap(True)
        speed = getattr(getattr(win.session, "status", None), "speed", None)
        self.speed.setText(speed.warning() if speed is not None and speed.slow else "")
        self.speed.setVisible(bool(self.speed.text()))
        lay.addWidget(self.speed)
        lay.addWidget(self.table, 1)
        self.disk = QLabel(self)
        lay.addWidget(self.disk)
        self.resident = QLabel(self)  # the GPU lane's loaded models and the room left in the model cache
        self.resident.setWordWrap(True)
        lay.addWidget(self.resident)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.state = QLabel(self)
        self.state.setWordWrap(True)  # a one-line error with a long path wraps instead of widening the window
        lay.addWidget(self.bar)
        lay.addWidget(self.state)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download", self)
        self.cancel_button = QPushButton("Cancel download", self)
        self.remove_button = QPushButton("Remove", self)
        self.import_button = QPushButton("Import…", self)
        self.import_button.setToolTip("Register a .safetensors or .gguf file, or a diffusers folder, where it is")
        import_menu = QMenu(self.import_button)
        import_menu.addAction("File (.safetensors, .gguf)…", self.import_file)
        import_menu.addAction("Diffusers folder…", self.import_folder)
        self.import_button.setMenu(import_menu)
        self.verify_button = QPushButton("Verify", self)
        self.verify_button.setToolTip("Check the sizes and sha256 of the chosen model's files (all models if none)")
        self.repair_button = QPushButton("Repair", self)
        self.repair_button.setToolTip("Fetch again only the chosen model's broken files")
        close = QPushButton("Close", self)
        self.ai_button = QPushButton("Install AI engines…", self)
        self.ai_button.setToolTip("PyTorch and the AI libraries, the build that fits this machine's GPU")
        self.ai_button.clicked.connect(self.install_ai)
        self.ai_button.setVisible(not ai_libraries_present())
        row.addWidget(self.ai_button)
        for b in (self.download_button, self.cancel_button, self.remove_button, self.import_button,
                  self.verify_button, self.repair_button):  # fmt: skip
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel)
        self.remove_button.clicked.connect(self.remove)
        self.verify_button.clicked.connect(self.verify)
        self.repair_button.clicked.connect(self.repair)
        close.clicked.connect(self.accept)
        self.job: Job | None = None
        self.problems: list = []  # the last Verify's findings (app.models.store.FileProblem)
        self.cancel_button.setEnabled(False)
        self.refresh()

    def refresh(self) -> None:
        from app.models.doctor import format_models_table
        from app.models.download import human_bytes

        rows = format_models_table(self.catalog, self.store)
        header, body = rows[0], rows[1:]
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels([h.title() for h in header])
        self.table.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        try:
            usage = self.store.disk_usage()
            self.disk.setText(
                f"{usage.root}: {human_bytes(usage.used_bytes)} used by models, {human_bytes(usage.free_bytes)} free"
            )
        except OSError as exc:
            self.disk.setText(f"disk usage unknown ({exc})")
        self.show_residency()

    def show_residency(self) -> None:
        """A snapshot the GPU lane published (nothing is loaded or measured here)."""
        holder = getattr(getattr(self.win, "session", None), "engines", None)
        residency = holder.residency() if hasattr(holder, "residency") else None
        if residency is None:
            self.resident.setText("Resident: nothing yet (models load on the first AI image and then stay loaded)")
        else:
            self.resident.setText(residency.line())

    def _selected(self) -> tuple[str, str] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.state.setText("Choose a model in the table first.")
            return None
        r = rows[0].row()
        return self.table.item(r, 0).text(), self.table.item(r, 1).text()

    def install_ai(self) -> None:
        """The packaged app's first run of the AI engines: say which build and how big, then fetch it."""
        from PySide6.QtWidgets import QMessageBox

        from app.models import runtime
        from app.models.hardware import detect

        if self.job is not None and not self.job.done:
            return
        plan = runtime.plan_ai_runtime(detect(), pins=runtime.bundle_pins())
        text = f"{plan.why}\n\nDownload: {plan.approx_size_text}. MapBrush keeps working while it installs."
        if QMessageBox.question(self, "Install AI engines", text) != QMessageBox.StandardButton.Yes:
            return
        self.job = Job(_install_ai, (runtime.runtime_dir(), plan), name="install-ai")
        self.job.progress.connect(self._progress)
        self.job.succeeded.connect(lambda _: self._ai_installed())
        self.job.failed.connect(lambda exc: self._finished(f"Installing the AI engines failed: {plain_words(exc)}"))
        self.job.cancelled.connect(
            lambda: self._finished("Install cancelled; nothing was changed. Try again any time.")
        )
        self.cancel_button.setEnabled(True)
        self.ai_button.setEnabled(False)
        self.state.setText(f"Installing the AI engines ({plan.approx_size_text})…")
        self.win.session.lanes.submit(self.job, key="install-ai")

    def _ai_installed(self) -> None:
        self.ai_button.setVisible(False)
        self._finished("The AI engines are installed. Now download a model below.")

    def confirm(self, model_id: str, variant: str) -> bool:
        """Size and licence before anything is fetched (non-commercial licences in plain sight)."""
        from PySide6.QtWidgets import QMessageBox

        entry = self.catalog.models.get(model_id)
        if entry is None or variant not in entry.variants:  # an imported extra: nothing to download
            self.state.setText(f"{model_id} ({variant}) was imported; there is nothing to download.")
            return False
        gb, complete = entry.download_size(variant)
        size = f"{gb:.1f} GB" if complete else (f"at least {gb:.1f} GB" if gb else "size unknown until it starts")
        text = f"Download {entry.name} ({variant})?\n\nSize: {size}\nLicence: {entry.licence_line}"
        if self.speed.text():  # an image takes minutes here: say so before a 20 GB download
            text = f"{self.speed.text()}.\n\n{text}"
        if entry.gated:
            text += "\n\nThis model is gated: accept its licence on the Hugging Face Hub and log in first."
        answer = QMessageBox.question(self, "Download model", text)
        return answer == QMessageBox.StandardButton.Yes

    def download(self) -> None:
        sel = self._selected()
        if sel is None or (self.job is not None and not self.job.done):
            return
        if not self.confirm(*sel):
            return
        self.job = Job(_download, (self.store, *sel), name="download")
        self.job.progress.connect(self._progress)
        self.job.succeeded.connect(lambda _: self._finished(f"{sel[0]} ({sel[1]}) is installed."))
        self.job.failed.connect(lambda exc: self._finished(f"Download failed: {plain_words(exc)}"))
        self.job.cancelled.connect(lambda: self._finished("Download paused; Download again resumes it."))
        self.cancel_button.setEnabled(True)
        self.download_button.setEnabled(False)
        self.state.setText(f"Downloading {sel[0]} ({sel[1]})…")
        self.win.session.lanes.submit(self.job, key="download")

    # ----- import, verify, repair (each on a worker) -------------------------------------------
    def import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model file", "", "Model files (*.safetensors *.gguf)")
        if path:
            self.import_path(path)

    def import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import a diffusers folder (with model_index.json)")
        if path:
            self.import_path(path)

    def import_path(self, path) -> None:
        if self._busy():
            return
        name = str(path)
        self._start(Job(_import, (self.store, name), name="import"), f"Checking {name}…", "import")
        self.job.succeeded.connect(self._imported)
        self.job.failed.connect(lambda exc: self._finished(f"Import failed: {plain_words(exc)}"))

    def _imported(self, model) -> None:
        text = f"Registered {model.model_id} ({model.variant}) → {model.weights}"
        if model.missing:
            text += f"; still missing: {', '.join(model.missing)} (Download it to fetch them)"
        self._finished(text)

    def verify(self) -> None:
        if self._busy():
            return
        rows = self.table.selectionModel().selectedRows()
        sel = (self.table.item(rows[0].row(), 0).text(), self.table.item(rows[0].row(), 1).text()) if rows else None
        what = f"{sel[0]} ({sel[1]})" if sel else "every installed model"
        self._start(Job(_verify, (self.store, *(sel or (None, None))), name="verify"), f"Verifying {what}…", "verify")
        self.job.succeeded.connect(lambda problems: self._verified(problems, what))
        self.job.failed.connect(lambda exc: self._finished(f"Verify: {plain_words(exc)}"))

    def _verified(self, problems, what: str) -> None:
        self.problems = list(problems)
        if not problems:
            self._finished(f"{what}: every file is whole.")
            return
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self._finished(problems[0].one_line() + more)

    def repair(self) -> None:
        sel = self._selected()
        if sel is None or self._busy():
            return
        self._start(Job(_repair, (self.store, *sel), name="repair"), f"Repairing {sel[0]} ({sel[1]})…", "download")
        self.job.succeeded.connect(lambda result: self._repaired(sel, result[1]))
        self.job.failed.connect(lambda exc: self._finished(f"Repair failed: {plain_words(exc)}"))
        self.job.cancelled.connect(lambda: self._finished("Repair paused; Repair again resumes it."))

    def _repaired(self, sel, fixed) -> None:
        if not fixed:
            self._finished(f"{sel[0]} ({sel[1]}): every file is whole; nothing was fetched.")
        else:
            names = ", ".join(p.path.name for p in fixed)
            self._finished(f"{sel[0]} ({sel[1]}) is repaired: fetched again {names}.")

    def _busy(self) -> bool:
        return self.job is not None and not self.job.done

    def _start(self, job: Job, text: str, key: str) -> None:
        self.job = job
        job.progress.connect(self._progress)
        self.cancel_button.setEnabled(True)
        self.download_button.setEnabled(False)
        self.state.setText(text)
        self.win.session.lanes.submit(job, key=key)

    def _progress(self, ev) -> None:
        self.bar.setValue(int(ev.fraction * 1000))
        self.state.setText(f"{ev.stage}: {ev.message}"[:120])

    def _finished(self, text: str) -> None:
        self.state.setText(text)
        self.cancel_button.setEnabled(False)
        self.download_button.setEnabled(True)
        self.ai_button.setEnabled(True)
        self.refresh()
        self.win.session.probe()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def remove(self) -> None:
        from app.errors import AppError
        from app.models.download import human_bytes

        sel = self._selected()
        if sel is None:
            return
        try:
            freed = self.store.remove(*sel)
        except AppError as exc:
            self.state.setText(exc.one_line())
            return
        self.state.setText(f"Removed {sel[0]} ({sel[1]}), {human_bytes(freed)} freed.")
        self.refresh()
        self.win.session.probe()
