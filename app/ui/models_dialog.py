"""Manage models: the catalog with what is installed, download (resumable, cancellable) and remove."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
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
        lay.addWidget(self.table, 1)
        self.disk = QLabel(self)
        lay.addWidget(self.disk)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.state = QLabel(self)
        lay.addWidget(self.bar)
        lay.addWidget(self.state)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download", self)
        self.cancel_button = QPushButton("Cancel download", self)
        self.remove_button = QPushButton("Remove", self)
        close = QPushButton("Close", self)
        self.ai_button = QPushButton("Install AI engines…", self)
        self.ai_button.setToolTip("PyTorch and the AI libraries, the build that fits this machine's GPU")
        self.ai_button.clicked.connect(self.install_ai)
        self.ai_button.setVisible(not ai_libraries_present())
        row.addWidget(self.ai_button)
        for b in (self.download_button, self.cancel_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel)
        self.remove_button.clicked.connect(self.remove)
        close.clicked.connect(self.accept)
        self.job: Job | None = None
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
