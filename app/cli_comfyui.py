"""The CLI's backend options: --backend local|comfyui, --comfyui-url (env MAPBRUSH_COMFYUI_URL), token, headers."""

from __future__ import annotations

import argparse
import os

from app.errors import InputError

URL_ENV = "MAPBRUSH_COMFYUI_URL"
TOKEN_ENV = "MAPBRUSH_COMFYUI_TOKEN"


def add_backend_options(g) -> None:
    g.add_argument("--backend", choices=["local", "comfyui"], default=None,
                   help="where the AI engines run: this computer (local, the default) or a ComfyUI server "
                   "(comfyui; the default when --comfyui-url is given)")  # fmt: skip
    g.add_argument("--comfyui-url", metavar="URL",
                   help=f"the ComfyUI server, e.g. http://gpu-box:8188 (also env {URL_ENV})")  # fmt: skip
    g.add_argument("--comfyui-token", metavar="TOKEN", help=f"bearer token for the server (also env {TOKEN_ENV})")
    g.add_argument("--comfyui-header", action="append", default=[], metavar="NAME:VALUE",
                   help="an extra HTTP header for the server; repeatable")  # fmt: skip
    g.add_argument("--comfyui-insecure", action="store_true", help="https without checking the certificate")
    g.add_argument("--comfyui-ca-file", metavar="PEM", type=str, default=None,
                   help="trust the CA certificate(s) in this file for an https server with its own CA")  # fmt: skip


def backend_of(args: argparse.Namespace):
    """("local", None) or ("comfyui", ServerConfig) from the options and the environment."""
    url = getattr(args, "comfyui_url", None) or os.environ.get(URL_ENV) or None
    backend = getattr(args, "backend", None) or ("comfyui" if url and getattr(args, "comfyui_url", None) else "local")
    if backend == "local":
        return "local", None
    if not url:
        raise InputError(f"--backend comfyui needs a server: --comfyui-url URL or {URL_ENV}")
    from app.backends.comfyui.client import ServerConfig

    headers = {}
    for h in getattr(args, "comfyui_header", []) or []:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--comfyui-header '{h}' is not NAME:VALUE")
        headers[name.strip()] = value.strip()
    token = getattr(args, "comfyui_token", None) or os.environ.get(TOKEN_ENV) or None
    if getattr(args, "upscale", None) == "on":
        from app.backends.comfyui.runner import UPSCALE_LOCAL

        raise InputError(UPSCALE_LOCAL)
    verify = not getattr(args, "comfyui_insecure", False)
    ca_file = getattr(args, "comfyui_ca_file", None) or None
    if ca_file and not os.path.isfile(ca_file):
        raise InputError("--comfyui-ca-file: no such file", path=ca_file)
    # --tier picks the preset (resolution, steps, preferred variants) of the server's stages; runner.py says how
    return "comfyui", ServerConfig(url, token=token, headers=headers, verify=verify, ca_file=ca_file,
                                   tier=getattr(args, "tier", None) or None)  # fmt: skip
