"""The ComfyUI server's token: in the OS keyring when the `keyring` package has a working backend, else in the
settings file (with a warning saying so). No Qt, no torch.

A keyring backend can block (Secret Service over D-Bus waits for an unlock prompt), so the window never reads or
writes it on the GUI thread: `server_config(…, deferred=True)` leaves the token to a `StoredToken` that the client
calls on its worker, and the Settings dialog reads and stores the token with `load_token` / `store_token` in jobs.
"""

from __future__ import annotations

import contextlib
import threading

SERVICE = "MapBrush ComfyUI"
FILE_WARNING = "no system keyring here: the ComfyUI token is kept in the settings file, readable by your user account"


def _keyring():
    """The keyring module when it has a backend that stores secrets; None otherwise."""
    try:
        import keyring

        backend = keyring.get_keyring()
        usable = getattr(backend, "priority", 0) > 0  # keyring.backends.fail and an empty chain have priority 0
    except Exception:
        return None
    return keyring if usable else None


def store_token(url: str, token: str, *, keyring=None) -> bool:
    """Put `token` for `url` into the OS keyring (an empty one is deleted there); False when no keyring took it.
    May block: call it on a worker. The settings are not touched (the caller does that on its own thread)."""
    kr = keyring if keyring is not None else _keyring()
    if kr is None:
        return False
    try:
        if token:
            kr.set_password(SERVICE, url, token)
        else:
            with contextlib.suppress(Exception):
                kr.delete_password(SERVICE, url)
    except Exception:
        return False
    return True


def settle_token(settings, token: str, in_keyring: bool) -> str | None:
    """The settings' side of storing `token`: nothing in the file when the keyring has it, else the token (and a
    warning to show)."""
    settings.comfyui_token = "" if in_keyring else token
    return FILE_WARNING if token and not in_keyring else None


def save_token(settings, url: str, token: str, *, keyring=None) -> str | None:
    """Store `token` for `url`; returns a warning when it went into the settings file. Blocks like the keyring."""
    return settle_token(settings, token, store_token(url, token, keyring=keyring))


def load_token(settings, url: str, *, keyring=None) -> str | None:
    kr = keyring if keyring is not None else _keyring()
    if kr is not None:
        with contextlib.suppress(Exception):
            got = kr.get_password(SERVICE, url)
            if got:
                return got
    return settings.comfyui_token or None


class StoredToken:
    """The token of `url` as stored (keyring, else the settings file's copy), read once, when first called; the
    ComfyUI client calls it on the worker thread that makes the client."""

    def __init__(self, url: str, file_token: str, *, keyring=None) -> None:
        self.url, self._file_token, self._keyring = url, file_token, keyring
        self._lock = threading.Lock()
        self._read = False
        self._value: str | None = None

    def __call__(self) -> str | None:
        with self._lock:
            if not self._read:
                kr = self._keyring if self._keyring is not None else _keyring()
                got = None
                if kr is not None:
                    with contextlib.suppress(Exception):
                        got = kr.get_password(SERVICE, self.url) or None
                self._value, self._read = got or self._file_token or None, True
            return self._value


def server_config(settings, *, keyring=None, deferred: bool = False, token: str | None = None):
    """The ServerConfig of the Settings → Engines choice; None for "This computer" or no address.

    The token: `token` when the caller knows it; else read now (the CLI), or with `deferred` left to a StoredToken
    that the client reads on its worker (the window: the GUI thread never touches the keyring)."""
    if settings.backend != "comfyui" or not settings.comfyui_url:
        return None
    from app.backends.comfyui.client import ServerConfig

    headers = {}
    for h in settings.comfyui_headers:
        name, sep, value = h.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    url = settings.comfyui_url
    source = None
    if token is None and deferred:
        source = StoredToken(url, settings.comfyui_token, keyring=keyring)
    elif token is None:
        token = load_token(settings, url, keyring=keyring)
    return ServerConfig(url, token=token or None, headers=headers, verify=settings.comfyui_verify_tls,
                        ca_file=settings.comfyui_ca_file or None, token_source=source)  # fmt: skip
