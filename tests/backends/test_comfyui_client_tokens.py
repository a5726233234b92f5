"""The ComfyUI token: keyring when one works, else the settings file with a warning; settings round trip."""

from __future__ import annotations

from app.backends.comfyui import tokens
from app.settings import Settings


class MemoryKeyring:  # a keyring backend of our own, standing in for the OS's (not the code under test)
    def __init__(self) -> None:
        self.store: dict = {}

    def set_password(self, service, user, secret):
        self.store[(service, user)] = secret

    def get_password(self, service, user):
        return self.store.get((service, user))

    def delete_password(self, service, user):
        self.store.pop((service, user), None)


def test_token_in_keyring_never_in_the_file(tmp_path):
    kr, s = MemoryKeyring(), Settings(backend="comfyui", comfyui_url="https://gpu-box:8188")
    assert tokens.save_token(s, s.comfyui_url, "sekrit", keyring=kr) is None
    s.save(tmp_path)
    assert "sekrit" not in (tmp_path / Settings.path(tmp_path).name).read_text()
    cfg = tokens.server_config(Settings.load(tmp_path), keyring=kr)
    assert cfg.token == "sekrit" and cfg.url == "https://gpu-box:8188" and cfg.verify


def test_no_keyring_keeps_it_in_the_file_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(tokens, "_keyring", lambda: None)
    s = Settings(backend="comfyui", comfyui_url="http://gpu-box:8188", comfyui_headers=["X-Team: maps"],
                 comfyui_verify_tls=False)  # fmt: skip
    assert tokens.save_token(s, s.comfyui_url, "t0k") == tokens.FILE_WARNING
    s.save(tmp_path)
    cfg = tokens.server_config(Settings.load(tmp_path))
    assert cfg.token == "t0k" and dict(cfg.headers) == {"X-Team": "maps"} and not cfg.verify
    assert tokens.server_config(Settings()) is None  # "This computer"
