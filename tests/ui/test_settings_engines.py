"""Settings → Engines: a ComfyUI server chosen in the window is saved, tested on a worker, and named in the status
bar; the window's renders then go through ComfyEngines. Against the loopback server of tests/backends."""

import socket

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


def test_choosing_comfyui_saves_the_fields_and_the_status_bar_names_it(window, qtbot):
    from app.backends.comfyui.runner import ComfyEngines
    from app.settings import Settings
    from app.ui.settings_dialog import SettingsDialog

    with FakeComfy(object_info(), lifetime=30) as srv:
        dialog = SettingsDialog(window)
        qtbot.addWidget(dialog)
        assert dialog.local.isChecked() and not dialog.comfyui_url.isEnabled()  # "This computer" is the default
        _choose_server(dialog, srv.url)
        assert dialog.comfyui_url.isEnabled()
        dialog.accept()
        saved = Settings.load(window.config_dir)
        assert (saved.backend, saved.comfyui_url, saved.comfyui_verify_tls) == ("comfyui", srv.url, False)
        assert saved.comfyui_headers == ["X-Team: maps", "bad header line"]
        assert saved.comfyui_token == "sekrit"  # no keyring here: in the file (with the warning shown)
        assert "keyring" in window.messages.text.text().lower()
        port = srv.url.rsplit(":", 1)[1]
        label = window.engine_status.hardware
        qtbot.waitUntil(lambda: label.text().startswith(f"ComfyUI at 127.0.0.1:{port} · "), timeout=20000)
        assert "RTX 4090 · 24 GB" in label.text()
        assert isinstance(window.session.engines.get(), ComfyEngines)
        assert window.session.engines.server.token == "sekrit"
        assert window.session.engines.server.headers == {"X-Team": "maps"}
        qtbot.waitUntil(lambda: window.session.status is not None, timeout=20000)
        assert window.session.status.stages["preview"].ok, window.session.status.stages["preview"].reason
        stats = [p for m, p, _ in srv.received if p == "/system_stats"]
        assert stats  # asked the server, not this computer

        dialog = SettingsDialog(window)  # and back to this computer
        qtbot.addWidget(dialog)
        assert dialog.comfyui.isChecked() and dialog.comfyui_token.text() == "sekrit"
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

    with FakeComfy(object_info(drop_class="UNETLoader"), lifetime=30) as srv:
        s = Settings(backend="comfyui", comfyui_url=srv.url)
        win = MainWindow(s, config_dir=tmp_path / "config", probe=True)
        qtbot.addWidget(win)
        try:
            port = srv.url.rsplit(":", 1)[1]
            qtbot.waitUntil(lambda: win.session.status is not None, timeout=20000)
            assert win.engine_status.hardware.text().startswith(f"ComfyUI at 127.0.0.1:{port} · RTX 4090 · 24 GB")
            ok, reason = win.session.can_run("preview")  # preflight: the server lacks a node → said in one line
            assert not ok and "UNETLoader" in reason and "\n" not in reason
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
