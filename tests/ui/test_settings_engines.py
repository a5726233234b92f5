"""Settings → Engines: a ComfyUI server chosen in the window is saved, tested on a worker, and named in the status
bar; the window's renders then go through ComfyEngines. Against the loopback server of tests/backends."""

import socket
import threading
import time

import pytest

pytest.importorskip("websockets")

from app.backends.comfyui import tokens
from tests.backends.comfy_server import FakeComfy
from tests.backends.test_comfyui_client import object_info


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch):
    monkeypatch.setattr(tokens, "_keyring", lambda: None)  # the OS keyring is not ours to write in tests


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _choose_server(dialog, url: str, token: str = "sekrit") -> None:
    dialog.comfyui.setChecked(True)
    dialog.comfyui_url.setText(url)
    dialog.comfyui_token.setText(token)
    dialog.comfyui_headers.setPlainText("X-Team: maps\n\nbad header line")
    dialog.comfyui_verify.setChecked(False)


def test_choosing_comfyui_saves_the_fields_and_the_status_bar_names_it(window, qtbot, monkeypatch, tmp_path):
    from app.backends.comfyui.runner import ComfyEngines
    from app.settings import Settings
    from app.ui import session, tasks
    from app.ui.settings_dialog import SettingsDialog

    def probe(holder, **kw):  # this computer's probe imports torch (seconds): not what this test is about
        if holder.server is None:
            return tasks.EngineStatus("no GPU", 0, "cpu", {})
        return tasks.probe_task(holder, **kw)

    monkeypatch.setattr(session, "probe_task", probe)

    with FakeComfy(object_info(), lifetime=30) as srv:
        dialog = SettingsDialog(window)
        qtbot.addWidget(dialog)
        assert dialog.local.isChecked() and not dialog.comfyui_url.isEnabled()  # "This computer" is the default
        assert not dialog.comfyui_ca.isEnabled()
        _choose_server(dialog, srv.url)
        assert dialog.comfyui_url.isEnabled() and dialog.comfyui_ca.isEnabled()
        ca = tmp_path / "company-ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")  # plain http here: only carried, never loaded
        dialog.comfyui_ca.setText(f"  {ca}  ")
        dialog.accept()
        saved = Settings.load(window.config_dir)
        assert (saved.backend, saved.comfyui_url, saved.comfyui_verify_tls) == ("comfyui", srv.url, False)
        assert saved.comfyui_ca_file == str(ca)
        assert saved.comfyui_headers == ["X-Team: maps", "bad header line"]
        # no keyring here: in the file (stored by a worker), with the warning shown
        qtbot.waitUntil(lambda: Settings.load(window.config_dir).comfyui_token == "sekrit", timeout=5000)
        assert "keyring" in window.messages.text.text().lower()
        port = srv.url.rsplit(":", 1)[1]
        label = window.engine_status.hardware
        qtbot.waitUntil(lambda: label.text().startswith(f"ComfyUI at 127.0.0.1:{port} · "), timeout=20000)
        assert "RTX 4090 · 24 GB" in label.text()
        assert isinstance(window.session.engines.get(), ComfyEngines)
        assert window.session.engines.server.token == "sekrit"  # as typed: no keyring read
        assert window.session.engines.server.headers == {"X-Team": "maps"}
        assert window.session.engines.server.ca_file == str(ca)
        qtbot.waitUntil(lambda: window.session.status is not None, timeout=20000)
        assert window.session.status.stages["preview"].ok, window.session.status.stages["preview"].reason
        stats = [p for m, p, _ in srv.received if p == "/system_stats"]
        assert stats  # asked the server, not this computer

        dialog = SettingsDialog(window)  # and back to this computer
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.comfyui_token.text() == "sekrit", timeout=5000)  # read by a worker
        assert dialog.comfyui.isChecked() and dialog.comfyui_token.isEnabled()
        dialog.local.setChecked(True)
        dialog.accept()
        assert Settings.load(window.config_dir).backend == "local"
        qtbot.waitUntil(lambda: window.session.engines.server is None, timeout=20000)


def test_test_connection_shows_the_server_line_or_one_line_error(window, qtbot):
    from app.ui.settings_dialog import SettingsDialog

    with FakeComfy(object_info(), lifetime=30) as srv:
        dialog = SettingsDialog(window)
        qtbot.addWidget(dialog)
        _choose_server(dialog, srv.url, token="typed")
        dialog.test_button.click()
        port = srv.url.rsplit(":", 1)[1]
        want = f"ComfyUI at 127.0.0.1:{port} · RTX 4090 · 24 GB"
        qtbot.waitUntil(lambda: dialog.test_result.text() == want, timeout=10000)
        assert dialog.test_button.isEnabled()
        assert window.settings.backend == "local"  # testing saves nothing
    dead = f"http://127.0.0.1:{_closed_port()}"
    dialog.comfyui_url.setText(dead)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Could not connect: "), timeout=15000)
    assert dead.split("//")[1] in dialog.test_result.text()
    assert "\n" not in dialog.test_result.text() and "Traceback" not in dialog.test_result.text()


def test_window_started_on_a_server_names_it_and_unreachable_is_one_line(qtbot, tmp_path):
    from app.settings import Settings
    from app.ui.main_window import MainWindow

    with FakeComfy(object_info(drop_class="CLIPLoader"), lifetime=30) as srv:
        s = Settings(backend="comfyui", comfyui_url=srv.url)
        win = MainWindow(s, config_dir=tmp_path / "config", probe=True)
        qtbot.addWidget(win)
        try:
            port = srv.url.rsplit(":", 1)[1]
            qtbot.waitUntil(lambda: win.session.status is not None, timeout=20000)
            assert win.engine_status.hardware.text().startswith(f"ComfyUI at 127.0.0.1:{port} · RTX 4090 · 24 GB")
            ok, reason = win.session.can_run("preview")  # preflight: the server lacks a node → said in one line
            assert not ok and "CLIPLoader" in reason and "\n" not in reason
            assert "Download" not in win.engine_status.model.text()
        finally:
            win.session.shutdown()
    dead = Settings(backend="comfyui", comfyui_url=f"http://127.0.0.1:{_closed_port()}")
    win = MainWindow(dead, config_dir=tmp_path / "config2", probe=True)
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: win.session.status is not None, timeout=20000)
        text = win.engine_status.hardware.text()
        assert text.startswith("ComfyUI at 127.0.0.1:") and ":" in text and "\n" not in text
        assert not win.session.can_run("preview")[0]
    finally:
        win.session.shutdown()


def test_the_window_paints_the_preview_on_the_server(qtbot, tmp_path, town, load_map):
    from app.settings import Settings
    from app.ui.main_window import MainWindow

    with FakeComfy(object_info(), steps=3, lifetime=60) as srv:
        win = MainWindow(Settings(backend="comfyui", comfyui_url=srv.url), config_dir=tmp_path / "c", probe=True)
        qtbot.addWidget(win)
        win.show()
        try:
            load_map(win, [town])
            qtbot.waitUntil(lambda: win.preview_button.isEnabled(), timeout=20000)
            with qtbot.waitSignal(win.session.ai_ready, timeout=60000) as got:
                win.preview_button.click()
            stage, result = got.args
            assert stage == "preview" and result.image.size
            posts = srv.paths("POST")
            assert "/prompt" in posts and "/upload/image" in posts  # painted by the server, not this computer
            assert result.metadata["stages"]["preview"]["device"] == "comfyui"
        finally:
            win.session.shutdown()


class SlowKeyring:
    """A keyring whose every call blocks (a Secret Service waiting on D-Bus for an unlock prompt) until `gate` opens
    (at most 3 s), and records the thread that called it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[tuple[str, str]] = []
        self.store = {(tokens.SERVICE, "http://127.0.0.1:9"): "sekrit"}

    def _wait(self, what: str) -> None:
        self.calls.append((what, threading.current_thread().name))
        self.gate.wait(3)

    def get_password(self, service, user):
        self._wait("get")
        return self.store.get((service, user))

    def set_password(self, service, user, secret):
        self._wait("set")
        self.store[(service, user)] = secret

    def delete_password(self, service, user):
        self._wait("delete")
        self.store.pop((service, user), None)


def test_the_keyring_is_never_read_or_written_on_the_gui_thread(qtbot, tmp_path, monkeypatch):
    """Opening the window and Settings, and saving a new token, all return at once while the keyring blocks; the
    token still arrives in the field, the engines get it, and the new one lands in the keyring — all off-thread."""
    from app.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.settings_dialog import SettingsDialog

    kr = SlowKeyring()
    monkeypatch.setattr(tokens, "_keyring", lambda: kr)
    s = Settings(backend="comfyui", comfyui_url="http://127.0.0.1:9")  # nothing listens: only the keyring matters
    t0 = time.monotonic()
    win = MainWindow(s, config_dir=tmp_path / "config", probe=False)
    qtbot.addWidget(win)
    try:
        dialog = SettingsDialog(win)
        qtbot.addWidget(dialog)
        assert time.monotonic() - t0 < 1.5  # the keyring blocks 3 s a call: it was not asked on this thread
        assert not dialog.comfyui_token.isEnabled()  # waits for the stored token
        qtbot.waitUntil(lambda: bool(kr.calls), timeout=2000)  # asked, by a worker
        kr.gate.set()
        qtbot.waitUntil(lambda: dialog.comfyui_token.text() == "sekrit", timeout=5000)
        assert dialog.comfyui_token.isEnabled()
        kr.gate.clear()
        dialog.comfyui_token.setText("newer")
        t1 = time.monotonic()
        dialog.accept()
        assert time.monotonic() - t1 < 1.5  # the keyring write is a job too
        kr.gate.set()
        qtbot.waitUntil(lambda: kr.store[(tokens.SERVICE, s.comfyui_url)] == "newer", timeout=5000)
        assert Settings.load(win.config_dir).comfyui_token == ""  # in the keyring, not in the file
        assert win.session.engines.server.token == "newer"
        # the window's own engines read a stored token on the GPU lane, when first used
        fresh = tokens.server_config(Settings(backend="comfyui", comfyui_url=s.comfyui_url), deferred=True)
        assert fresh.token is None and fresh.token_source is not None
        from app.ui.tasks import EngineHolder

        holder = EngineHolder(server=fresh)
        with qtbot.waitSignal(win.session.lanes.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
            win.session.lanes.submit(_job(lambda *_a, **_k: holder.get()), lane="gpu")
        assert holder.get().client.token == "newer"
        main = threading.main_thread().name
        assert kr.calls and all(thread != main for _, thread in kr.calls), kr.calls
    finally:
        kr.gate.set()
        win.session.shutdown()


def _job(fn):
    from app.ui.workers import Job

    return Job(fn, None, name="test-keyring")


def test_the_windows_pickers_and_status_show_what_the_server_has(qtbot, tmp_path, monkeypatch):
    """The final-model picker lists the server's models (the 9B upgrade, because the server has its GGUF), the
    status bar the variant the server will run, the ControlNet guide is off (no patch file there); the /models
    lists were fetched by a worker, never by the GUI thread."""
    from app.backends.comfyui.client import ComfyClient
    from app.settings import Settings
    from app.ui.main_window import MainWindow
    from tests.backends.test_comfyui_server_models import COMMON, K4_BF16, K9_Q4, Z_Q4

    asked_on: list[str] = []
    models_of = ComfyClient.models

    def spy(self, folder):
        asked_on.append(threading.current_thread().name)
        return models_of(self, folder)

    monkeypatch.setattr(ComfyClient, "models", spy)
    files = {**COMMON, "diffusion_models": [K4_BF16], "unet_gguf": [Z_Q4, K9_Q4], "model_patches": []}
    with FakeComfy(object_info(), models=files, lifetime=30) as srv:
        win = MainWindow(Settings(backend="comfyui", comfyui_url=srv.url), config_dir=tmp_path / "c", probe=True)
        qtbot.addWidget(win)
        try:
            qtbot.waitUntil(lambda: win.session.status is not None, timeout=20000)
            picker = win.style_panel.final_model
            items = [picker.itemText(i) for i in range(picker.count())]
            assert items == ["FLUX.2 [klein] 4B (default)", "FLUX.2 [klein] 9B · non-commercial"], items
            assert picker.model().item(1).isEnabled()  # on the server: pickable
            assert picker.itemData(1) == "flux2-klein-9b:q4_k_m"
            status = win.engine_status.model.text()
            assert "Z-Image-Turbo Q4_K_M ready" in status and "FLUX.2 [klein] 4B BF16 ready" in status, status
            guide = win.style_panel.guide
            assert not guide.model().item(guide.findData("controlnet")).isEnabled()
            assert "/models/unet_gguf" in srv.paths("GET")
        finally:
            win.session.shutdown()
    assert asked_on and threading.main_thread().name not in asked_on, asked_on
