"""The ComfyUI server's token: in the OS keyring when the `keyring` package has a working backend, else in the
settings file (with a warning saying so). No Qt, no torch."""

from __future__ import annotations

import contextlib

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


def save_token(settings, url: str, token: str, *, keyring=None) -> str | None:
    """Store `token` for `url`; returns a warning when it went into the settings file."""
    kr = keyring if keyring is not None else _keyring()
    if kr is not None:
        try:
            if token:
                kr.set_password(SERVICE, url, token)
            else:
                with contextlib.suppress(Exception):
                    kr.delete_password(SERVICE, url)
            settings.comfyui_token = ""
            return None
        except Exception:
            pass
    settings.comfyui_token = token
    return FILE_WARNING if token else None


def load_token(settings, url: str, *, keyring=None) -> str | None:
    kr = keyring if keyring is not None else _keyring()
    if kr is not None:
        with contextlib.suppress(Exception):
            got = kr.get_password(SERVICE, url)
            if got:
                return got
    return settings.comfyui_token or None


def server_config(settings, *, keyring=None):
    """The ServerConfig of the Settings → Engines choice; None for "This computer" or no address."""
    if settings.backend != "comfyui" or not settings.comfyui_url:
        return None
    from app.backends.comfyui.client import ServerConfig

    headers = {}
    for h in settings.comfyui_headers:
        name, sep, value = h.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    return ServerConfig(settings.comfyui_url, token=load_token(settings, settings.comfyui_url, keyring=keyring),
                        headers=headers, verify=settings.comfyui_verify_tls)  # fmt: skip
