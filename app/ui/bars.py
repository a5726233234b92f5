"""The progress row (stage, step, ETA, Cancel) and the engine status in the status bar."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.jobs.progress import ProgressEvent

STAGE_WORDS = {
    "read": "Reading",
    "compose": "Composing",
    "rasterize": "Drawing",
    "paint": "Painting",
    "finish": "Lettering",
    "export": "Writing",
    "preview": "Preview",
    "final": "Final",
    "denoise": "Painting with AI",
    "load": "Loading model",
    "download": "Downloading",
    "verify": "Checking",
    "fetch": "Fetching",
}
BYTE_STAGES = frozenset({"fetch"})  # steps are bytes: the message says how many, not "step/total"


class ProgressPanel(QWidget):
    """Shows the job the person is waiting for; hidden when idle."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        self.label = QLabel(self)
        self.label.setMinimumWidth(260)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.eta = QLabel(self)
        self.eta.setMinimumWidth(70)
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.clicked.connect(self.cancel_requested)
        lay.addWidget(self.label)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.eta)
        lay.addWidget(self.cancel)
        self._stage = ""
        self._stage_t0 = 0.0
        self.idle()

    def begin(self, what: str) -> None:
        self.label.setText(what)
        self.bar.setRange(0, 0)  # busy until the first step arrives
        self.eta.setText("")
        self._stage = ""
        self.cancel.setEnabled(True)

    def update_event(self, ev: ProgressEvent) -> None:
        now = time.monotonic()
        if ev.stage != self._stage:
            self._stage, self._stage_t0 = ev.stage, now
        words = STAGE_WORDS.get(ev.stage, ev.stage.title())
        step = f" {ev.step}/{ev.total}" if ev.total > 1 and ev.stage not in BYTE_STAGES else ""
        msg = f" — {ev.message}" if ev.message else ""
        self.label.setText(f"{words}{step}{msg}"[:90])
        if ev.total <= 0:  # how much is coming is not known (a streamed answer): busy
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(ev.fraction * 1000))
        elapsed = now - self._stage_t0
        if 0.05 < ev.fraction < 1.0 and elapsed > 1.0:
            left = elapsed * (1.0 - ev.fraction) / ev.fraction
            self.eta.setText(f"~{left:.0f} s left" if left < 120 else f"~{left / 60:.0f} min left")
        else:
            self.eta.setText("")

    def idle(self, text: str = "Ready") -> None:
        self.label.setText(text)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.eta.setText("")
        self.cancel.setEnabled(False)


class EngineStatus(QWidget):
    """GPU · VRAM · tier · model state, with a link to manage models when one is missing."""

    manage_models = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.hardware = QLabel("Looking for a GPU…", self)
        self.model = QLabel("", self)
        self.model.setTextFormat(Qt.TextFormat.RichText)
        self.model.linkActivated.connect(lambda _: self.manage_models.emit())
        lay.addWidget(self.hardware)
        lay.addWidget(self.model)

    def set_status(self, status) -> None:
        """`status`: app.ui.tasks.EngineStatus."""
        vram = f" · {status.vram_gib:.0f} GB VRAM" if status.vram_gib else ""
        server = getattr(status, "server", False)  # `gpu` is the server's line; its tier preset goes in the tooltip
        self.hardware.setText(" · ".join(p for p in (f"{status.gpu}{vram}", "" if server else status.tier) if p))
        self.hardware.setToolTip(f"Models and steps of the {status.tier} preset" if server and status.tier else "")
        parts = []
        for name, st in status.stages.items():
            model = st.model_name or f"{name} model"
            if st.ok:
                parts.append(f"{model} ready")
            elif server:  # nothing to download here: the server lacks it
                parts.append(f"{model} missing on the server" if st.model_name else "")
            else:
                parts.append(f"{model} not installed — <a href='models'>Download…</a>")
        self.model.setText(" · ".join(dict.fromkeys(p for p in parts if p)))

    def set_error(self, text: str) -> None:
        self.hardware.setText(text)
