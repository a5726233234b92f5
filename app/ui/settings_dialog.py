"""Preferences: models folder, tier override, model memory, default export folder, theme, and the Engines: this
computer or a ComfyUI server (URL, token, extra headers, TLS), with a Test connection that asks the server on a
worker thread."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
)

THEMES = ("system", "light", "dark")


class SettingsDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        s = win.settings
        self.setWindowTitle("Settings")
        self.setMinimumWidth(640)  # room for the server's line beside Test connection
        form = QFormLayout(self)
        self.models_dir = self._folder_row(form, "Models folder", s.models_dir, "the default folder")
        self.tier = QComboBox(self)
        self.tier.addItem("Automatic", "")
        try:
            from app.models.catalog import load_catalog

            for name, preset in load_catalog().tiers.items():
                self.tier.addItem(f"{name} — {preset.label}", name)
        except Exception as exc:  # a broken catalog must not stop the dialog
            self.tier.setToolTip(f"model catalog unreadable: {exc}")
        self.tier.setCurrentIndex(max(0, self.tier.findData(s.tier_override)))
        form.addRow("GPU tier", self.tier)
        self.cache_gb = QSpinBox(self)
        self.cache_gb.setRange(0, 4096)  # the range settings accept
        self.cache_gb.setSuffix(" GB")
        self.cache_gb.setSpecialValueText("Automatic")
        self.cache_gb.setValue(int(s.model_cache_gb))
        self.cache_gb.setToolTip(self._auto_tip())
        form.addRow("Model memory (GB, 0 = automatic)", self.cache_gb)
        self.export_dir = self._folder_row(form, "Export folder", s.export_dir, "your home folder")
        self.theme = QComboBox(self)
        self.theme.addItems([t.title() for t in THEMES])
        self.theme.setCurrentIndex(THEMES.index(s.theme) if s.theme in THEMES else 0)
        form.addRow("Theme", self.theme)
        form.addRow(self._engines_group(s))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _engines_group(self, s) -> QGroupBox:
        box = QGroupBox("Engines", self)
        lay = QFormLayout(box)
        self.local = QRadioButton("This computer", box)
        self.comfyui = QRadioButton("ComfyUI server", box)
        (self.comfyui if s.backend == "comfyui" else self.local).setChecked(True)
        choice = QHBoxLayout()
        choice.addWidget(self.local)
        choice.addWidget(self.comfyui)
        choice.addStretch(1)
        lay.addRow("AI stages run on", choice)
        self.comfyui_url = QLineEdit(s.comfyui_url, box)
        self.comfyui_url.setPlaceholderText("http://gpu-box:8188")
        self.comfyui_token = QLineEdit("", box)  # filled by a worker: reading a keyring can block
        self.comfyui_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.comfyui_token.setPlaceholderText(TOKEN_PLACEHOLDER)
        self.comfyui_headers = QPlainTextEdit("\n".join(s.comfyui_headers), box)
        self.comfyui_headers.setPlaceholderText("Name: value, one a line")
        self.comfyui_headers.setFixedHeight(self.comfyui_url.sizeHint().height() * 3)
        self.comfyui_verify = QCheckBox("Verify the server's TLS certificate", box)
        self.comfyui_verify.setChecked(s.comfyui_verify_tls)
        self.comfyui_ca = QLineEdit(s.comfyui_ca_file, box)
        self.comfyui_ca.setPlaceholderText("the system's certificate authorities")
        self.comfyui_ca.setToolTip("A PEM file of the authority that signed the server's certificate (a self-signed "
                                   "server, a company CA); empty: the system's")  # fmt: skip
        ca_browse = QPushButton("Browse…", box)
        ca_browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.comfyui_ca, 1)
        ca_row.addWidget(ca_browse)
        self.test_button = QPushButton("Test connection", box)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("", box)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.setMinimumHeight(2 * self.test_result.fontMetrics().lineSpacing())  # an error takes two
        test = QHBoxLayout()
        test.addWidget(self.test_button)
        test.addWidget(self.test_result, 1)
        lay.addRow("Server URL", self.comfyui_url)
        lay.addRow("Token", self.comfyui_token)
        lay.addRow("Extra headers", self.comfyui_headers)
        lay.addRow("", self.comfyui_verify)
        lay.addRow("CA certificate", ca_row)
        lay.addRow("", test)
        self._server_fields = (self.comfyui_url, self.comfyui_token, self.comfyui_headers, self.comfyui_verify,
                               self.comfyui_ca, ca_browse, self.test_button)  # fmt: skip
        self._test_job = None
        self._stored_url = s.comfyui_url
        self._stored_token: str | None = None  # the token as stored, once the worker has read it
        self._token_state = "reading" if s.comfyui_url else "read"  # reading → read | failed; no address: none
        self.comfyui.toggled.connect(self._backend_toggled)
        self._backend_toggled(self.comfyui.isChecked())
        if self._token_state == "reading":
            self._read_token(s)
        return box

    def _read_token(self, s) -> None:
        """The stored token, from the keyring (or the settings file) on a worker; the field waits for it."""
        from app.ui.workers import Job

        self.comfyui_token.setPlaceholderText("reading the stored token…")
        job = Job(_read_token_task, (s.comfyui_url, s.comfyui_token), name="comfyui-token")
        job.succeeded.connect(self._token_arrived)
        job.failed.connect(lambda _exc: self._token_arrived(None, failed=True))
        self._token_job = self.win.session.lanes.submit(job, key="comfyui-token", priority=10)  # before thumbnails

    def _token_arrived(self, token: str | None, *, failed: bool = False) -> None:
        try:
            self._stored_token = None if failed else (token or "")
            self._token_state = "failed" if failed else "read"
            self.comfyui_token.setPlaceholderText(TOKEN_PLACEHOLDER if not failed else
                                                  "the stored token could not be read; type it again")  # fmt: skip
            if not failed and not self.comfyui_token.text():
                self.comfyui_token.setText(token or "")
            self.comfyui_token.setEnabled(self.comfyui.isChecked())
        except RuntimeError:  # the dialog was closed first
            pass

    def _backend_toggled(self, on: bool) -> None:
        for w in self._server_fields:
            w.setEnabled(on)
        if self._token_state == "reading":
            self.comfyui_token.setEnabled(False)  # until the stored token has been read (or failed to be)

    def _server_settings(self):
        """A Settings copy holding the Engines fields as typed (nothing saved yet)."""
        from dataclasses import replace

        headers = [h.strip() for h in self.comfyui_headers.toPlainText().splitlines() if h.strip()]
        return replace(self.win.settings, backend="comfyui" if self.comfyui.isChecked() else "local",
                       comfyui_url=self.comfyui_url.text().strip(), comfyui_headers=headers,
                       comfyui_verify_tls=self.comfyui_verify.isChecked(),
                       comfyui_ca_file=self.comfyui_ca.text().strip())  # fmt: skip

    def _typed_token(self) -> str | None:
        """The token to use: the field's once the stored one was read (or one was typed); None while it is unknown
        (then the client reads the stored one, off this thread)."""
        text = self.comfyui_token.text().strip()
        return text if self._token_state == "read" or text else None

    def _typed_config(self):
        from app.backends.comfyui.tokens import server_config

        typed = self._server_settings()
        return server_config(typed, deferred=True, token=self._typed_token())

    def test_connection(self) -> None:
        """Ask the server for /system_stats on a worker; the answer (or the one-line error) shows beside the button."""
        from app.ui.workers import Job

        cfg = self._typed_config()
        if cfg is None:
            self.test_result.setText("Type the server's address first, e.g. http://gpu-box:8188")
            return
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Asking {cfg.label}…")
        job = Job(_test_task, cfg, name="comfyui-test")
        job.succeeded.connect(self._tested)
        job.failed.connect(lambda exc: self._tested(f"Could not connect: {_one_line(exc)}"))
        self._test_job = self.win.session.lanes.submit(job, key="comfyui-test")

    def _tested(self, line: str) -> None:
        try:
            self.test_result.setText(line)
            self.test_button.setEnabled(self.comfyui.isChecked())
            if self.height() < self.sizeHint().height():  # a long error: grow rather than squeeze the fields
                self.resize(self.width(), self.sizeHint().height())
        except RuntimeError:  # the dialog was closed before the server answered
            pass

    def _folder_row(self, form, label: str, value: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(value, self)
        edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(lambda: self._browse(edit))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    def _auto_tip(self) -> str:
        lines = "How many GB of model weights stay loaded between pictures; more keeps preview and final resident."
        try:
            auto = self.win.session.engines.auto_cache_gb()
        except Exception as exc:  # no torch, or no RAM reading: the setting still works
            return f"{lines}\nAutomatic: unknown here ({exc})"
        return f"{lines}\nAutomatic (0): {auto:.1f} GB on this computer"

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The server's CA certificate", self.comfyui_ca.text(),
                                              "PEM certificates (*.pem *.crt *.cer);;All files (*)")  # fmt: skip
        if path:
            self.comfyui_ca.setText(path)

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def accept(self) -> None:
        from app.ui.theme import apply_theme

        s = self.win.settings
        new = (self.models_dir.text().strip(), self.tier.currentData(), self.cache_gb.value())
        engines_changed = (s.models_dir, s.tier_override, s.model_cache_gb) != new
        s.models_dir, s.tier_override, s.model_cache_gb = new
        s.export_dir = self.export_dir.text().strip()
        s.theme = THEMES[self.theme.currentIndex()]
        server_changed, token = self._save_server(s)
        self.win.save_settings()
        apply_theme(QApplication.instance(), s.theme)
        if engines_changed or server_changed:
            from app.backends.comfyui.tokens import server_config

            self.win.session.reset_engines(s.models_dir or None, s.tier_override or None, s.model_cache_gb,
                                           server_config(s, deferred=True, token=token))  # fmt: skip
        super().accept()

    def _save_server(self, s) -> tuple[bool, str | None]:
        """Copy the Engines fields into the settings; a changed token goes to the keyring on a worker (the settings
        file gets it only when no keyring takes it). Returns (the backend changed, the token when known)."""
        typed = self._server_settings()
        keys = ("backend", "comfyui_url", "comfyui_headers", "comfyui_verify_tls", "comfyui_ca_file")
        before = [getattr(s, k) for k in keys]
        for k in keys:
            setattr(s, k, getattr(typed, k))
        token = self._typed_token()
        old = self._stored_token
        token_changed = token is not None and (token != (old or "") or s.comfyui_url != self._stored_url)
        if s.comfyui_url and token_changed and (token or old):
            store_token_later(self.win, s.comfyui_url, token)
        return before != [getattr(s, k) for k in keys] or token_changed, token


TOKEN_PLACEHOLDER = "none (sent as Authorization: Bearer …)"


def store_token_later(win, url: str, token: str):
    """Put the token into the keyring on a worker; then, on the GUI thread, into the settings file when no keyring
    took it (with the warning), and save. The dialog may be gone by then: this needs only the window."""
    from app.backends.comfyui.tokens import settle_token
    from app.ui.workers import Job

    def stored(in_keyring: bool) -> None:
        if win.settings.comfyui_url != url:  # changed again meanwhile: that save has its own job
            return
        warning = settle_token(win.settings, token, in_keyring)
        win.save_settings()
        if warning and hasattr(win, "messages"):
            win.messages.show_message(warning, level="info")

    job = Job(_store_token_task, (url, token), name="comfyui-token-store")
    job.succeeded.connect(stored)
    job.failed.connect(lambda _exc: stored(False))
    return win.session.lanes.submit(job, key="comfyui-token-store", supersede=False, priority=10)


def _read_token_task(req, **_kw) -> str | None:
    from app.backends.comfyui.tokens import StoredToken

    url, file_token = req
    return StoredToken(url, file_token)()


def _store_token_task(req, **_kw) -> bool:
    from app.backends.comfyui.tokens import store_token

    return store_token(*req)


def _test_task(cfg, **_kw) -> str:
    from app.backends.comfyui.client import ComfyClient
    from app.backends.comfyui.runner import status_line

    return status_line(cfg, ComfyClient(cfg).system_stats())


def _one_line(exc: BaseException) -> str:
    from app.errors import AppError

    text = exc.one_line() if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
    return " ".join(str(text).split())
