"""A ComfyUI server's HTTP and websocket protocol: object_info, system_stats, upload, queue, progress, cancel, result.

Library choice: urllib3 for HTTP (already ours in app/sources/http.py: separate connect/read timeouts, streamed
bodies we can cap) and `websockets` (its sync client, websockets.sync.client) for the progress socket: small,
maintained, typed, pure Python with an optional speed-up, and its sync server serves the loopback test server too.
The kept ComfyUI client libraries (comfy-api-client, comfyui-utils…) are thin, async-only or unmaintained, and none
caps what a server sends; the protocol is seven endpoints and eight message types, so we speak it directly.

Nothing the server sends is executed or unpickled: JSON is parsed with json.loads, pictures are decoded by Pillow
only as PNG/JPEG/WebP under a pixel cap, and every body is read with a size cap. Messages for another client's
prompt are ignored (a server is shared; the socket's client_id and our prompt_id say which are ours).
No Qt, no torch.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

import numpy as np

from app.errors import Cancelled, NetworkError
from app.jobs.cancel import NEVER, CancelToken

JSON_CAP = 64 * 1024 * 1024  # object_info of a big install is ~10 MB
IMAGE_CAP = 256 * 1024 * 1024
MESSAGE_CAP = 8 * 1024 * 1024  # one websocket message (binary previews included)
PIXEL_CAP = 80_000_000
POLL = 0.5  # seconds between /history polls when the socket is gone


class ComfyError(NetworkError):
    """The ComfyUI server could not be reached, refused, was too slow, or answered with something unusable."""


class ComfyHTTPError(ComfyError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ComfyRunError(ComfyError):
    """The server ran our graph and reported an error (execution_error)."""


@dataclass(frozen=True)
class ServerConfig:
    url: str  # http://host:8188 or https://… (TLS verified unless verify=False)
    token: str | None = None  # sent as "Authorization: Bearer …"
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool = True
    ca_file: str | None = None  # a PEM file of the CA(s) to trust for https (a server with its own CA)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    job_timeout: float = 3600.0  # a whole stage, queue wait included
    tier: str | None = None  # the models.toml preset for the server's stages (--tier); None: from its VRAM
    # Where `token` is None: called once by the client, on the worker that makes it, for a token still in the OS
    # keyring (tokens.py). Reading a keyring can block on D-Bus, so the GUI thread never calls it.
    token_source: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc or self.url


def _websockets():
    try:
        from websockets.sync.client import connect
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ComfyError("the ComfyUI backend needs the 'websockets' package: pip install 'websockets>=13'") from exc
    return connect


class ComfyClient:
    def __init__(self, config: ServerConfig, *, client_id: str | None = None) -> None:
        import urllib3

        parts = urlsplit(config.url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ComfyError(f"not a ComfyUI server address: '{config.url}' (expected http://host:port or https://…)")
        self.config = config
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.client_id = client_id or uuid.uuid4().hex
        self.token = config.token
        if self.token is None and config.token_source is not None:
            self.token = config.token_source() or None
        if config.ca_file and not os.path.isfile(config.ca_file):
            raise ComfyError(f"the CA file for the ComfyUI server does not exist: {config.ca_file}")
        if not config.verify:
            kw = {"cert_reqs": "CERT_NONE"}
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        else:
            kw = {"cert_reqs": "CERT_REQUIRED", **({"ca_certs": config.ca_file} if config.ca_file else {})}
        self._pool = urllib3.PoolManager(retries=False, **kw)
        self._timeout = urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout)

    # ----- HTTP ----------------------------------------------------------------------------------------------
    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        h = {"User-Agent": "MapBrush", **dict(self.config.headers)}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def request(self, method: str, path: str, *, body: bytes | None = None, headers=None,
                cap: int = JSON_CAP) -> bytes:  # fmt: skip
        import urllib3

        url = self.base + path
        try:
            r = self._pool.request(method, url, body=body, headers=self._headers(headers), timeout=self._timeout,
                                   preload_content=False, redirect=False)  # fmt: skip
        except urllib3.exceptions.ConnectTimeoutError as exc:
            raise ComfyError(
                f"cannot reach the ComfyUI server at {self.config.label}: no answer within "
                f"{self.config.connect_timeout:g} s"
            ) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise ComfyError(f"the ComfyUI server at {self.config.label} did not answer in time ({path})") from exc
        except urllib3.exceptions.SSLError as exc:
            raise ComfyError(self._tls_problem(exc)) from exc
        except urllib3.exceptions.HTTPError as exc:
            if "certificate" in str(exc).lower():  # urllib3 may wrap the SSLError (MaxRetryError, ProtocolError)
                raise ComfyError(self._tls_problem(exc)) from exc
            raise ComfyError(f"cannot reach the ComfyUI server at {self.config.label}: {_reason(exc)}") from exc
        try:
            length = r.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > cap:
                raise ComfyError(f"the ComfyUI server sent {int(length) >> 20} MB for {path}; refused (too large)")
            chunks, got = [], 0
            for chunk in r.stream(64 * 1024):
                got += len(chunk)
                if got > cap:
                    raise ComfyError(f"the ComfyUI server sent more than {cap >> 20} MB for {path}; refused")
                chunks.append(chunk)
            data = b"".join(chunks)
        except urllib3.exceptions.TimeoutError as exc:
            raise ComfyError(f"the ComfyUI server at {self.config.label} stopped answering ({path})") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise ComfyError(f"the ComfyUI server at {self.config.label} broke off ({path}): {_reason(exc)}") from exc
        finally:
            r.release_conn()
        if r.status in (401, 403):
            raise ComfyError(f"the ComfyUI server at {self.config.label} refused us (HTTP {r.status}): check the token")
        if r.status >= 400:
            raise ComfyHTTPError(f"the ComfyUI server answered HTTP {r.status} for {path}: {_error_text(data)}",
                                 status=r.status)  # fmt: skip
        return data

    def _tls_problem(self, exc: Exception) -> str:
        text = str(exc).lower()
        if "certificate verify failed" in text or ("certificate" in text and "verify" in text):
            why = "hostname mismatch" if "hostname" in text or "ip address mismatch" in text else "not trusted"
            return (f"the ComfyUI server at {self.config.label} has a TLS certificate we cannot verify ({why}); "
                    "give its CA file (--comfyui-ca-file) or turn the check off (--comfyui-insecure, or untick "
                    "Verify in Settings → Engines)")  # fmt: skip
        return f"cannot reach the ComfyUI server at {self.config.label}: TLS failed ({_reason(exc)})"

    def get_json(self, path: str, *, cap: int = JSON_CAP):
        return _json(self.request("GET", path, cap=cap), path)

    def post_json(self, path: str, payload) -> object:
        data = self.request("POST", path, body=json.dumps(payload).encode(),
                            headers={"Content-Type": "application/json"})  # fmt: skip
        return _json(data, path) if data.strip() else None

    # ----- the endpoints -------------------------------------------------------------------------------------
    def object_info(self, node_class: str | None = None) -> dict:
        info = self.get_json("/object_info" + (f"/{quote(node_class)}" if node_class else ""))
        if not isinstance(info, dict):
            raise ComfyError("the ComfyUI server's /object_info is not a JSON object")
        return info

    def system_stats(self) -> dict:
        stats = self.get_json("/system_stats")
        return stats if isinstance(stats, dict) else {}

    def model_folders(self) -> list[str] | None:
        """The model folders a server lists at /models (ComfyUI 0.2 and later); None where it has no such route."""
        return self._optional_list("/models")

    def models(self, folder: str) -> list[str] | None:
        """Files in a model folder from /models/<folder> (newer servers); None where the server has no such route."""
        return self._optional_list(f"/models/{quote(folder)}")

    def _optional_list(self, path: str) -> list[str] | None:
        try:
            got = self.get_json(path)
        except ComfyHTTPError as exc:
            if exc.status == 404:  # an older server, or a folder it does not have
                return None
            raise
        return [str(x) for x in got] if isinstance(got, list) else None

    def upload_image(self, name: str, png: bytes) -> str:
        """Upload into the server's input folder; returns the name the graph's LoadImage must use."""
        boundary = uuid.uuid4().hex
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'.encode(),
            b"Content-Type: image/png\r\n\r\n", png, b"\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput\r\n'.encode(),
            f"--{boundary}--\r\n".encode(),
        ])  # fmt: skip
        ctype = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        got = _json(self.request("POST", "/upload/image", body=body, headers=ctype), "/upload/image")
        if not isinstance(got, dict) or not isinstance(got.get("name"), str):
            raise ComfyError("the ComfyUI server's /upload/image answer has no file name")
        sub = got.get("subfolder") or ""
        return f"{sub}/{got['name']}" if sub else got["name"]

    def queue(self, graph: dict) -> str:
        got = self.post_json("/prompt", {"prompt": graph, "client_id": self.client_id})
        if not isinstance(got, dict) or not isinstance(got.get("prompt_id"), str):
            raise ComfyError("the ComfyUI server's /prompt answer has no prompt_id")
        return got["prompt_id"]

    def cancel(self, prompt_id: str) -> None:
        """Stop our prompt: interrupt it if running (only ours: the prompt_id goes along), and take it off the queue."""
        for path, payload in (("/interrupt", {"prompt_id": prompt_id}), ("/queue", {"delete": [prompt_id]})):
            with contextlib.suppress(ComfyError):  # best effort: the server may already be gone
                self.post_json(path, payload)

    def history(self, prompt_id: str) -> dict | None:
        got = self.get_json(f"/history/{quote(prompt_id)}")
        entry = got.get(prompt_id) if isinstance(got, dict) else None
        return entry if isinstance(entry, dict) else None

    def view(self, filename: str, subfolder: str = "", kind: str = "output") -> np.ndarray:
        query = urlencode({"filename": filename, "subfolder": subfolder, "type": kind})
        return decode_image(self.request("GET", f"/view?{query}", cap=IMAGE_CAP), filename)

    # ----- a job ---------------------------------------------------------------------------------------------
    def run(self, graph: dict, *, on_progress: Callable[[int, int, str], None] | None = None,
            cancel: CancelToken = NEVER) -> np.ndarray:  # fmt: skip
        """Queue `graph`, follow it to the end, return its first output image (HxWx3 uint8).

        The socket opens before the queue so no message is missed; if it drops, it is reopened once, then the job
        is followed by polling /history. A cancel interrupts our prompt and deletes it from the queue."""
        ws = self._open_ws()
        prompt_id = None
        try:
            prompt_id = self.queue(graph)
            self._follow(ws, prompt_id, on_progress or (lambda *_: None), cancel)
        except (Cancelled, KeyboardInterrupt):  # the CLI's Ctrl+C too: stop our job on the server
            if prompt_id:
                self.cancel(prompt_id)
            raise
        finally:
            if ws is not None:
                ws.close()
        return self.result(prompt_id)

    def result(self, prompt_id: str) -> np.ndarray:
        entry = self.history(prompt_id)
        if entry is None:
            raise ComfyError(f"the ComfyUI server has no record of our job {prompt_id[:8]} (was it restarted?)")
        _raise_for_status(entry)
        for out in (entry.get("outputs") or {}).values():
            for img in (out or {}).get("images") or []:
                if isinstance(img, dict) and isinstance(img.get("filename"), str):
                    return self.view(img["filename"], str(img.get("subfolder") or ""), str(img.get("type") or "output"))
        raise ComfyError("the ComfyUI server finished our job but returned no image")

    def _ws_url(self) -> str:
        scheme = "wss" if self.base.startswith("https") else "ws"
        return f"{scheme}{self.base[self.base.index(':') :]}/ws?clientId={self.client_id}"

    def _open_ws(self):
        connect = _websockets()
        kw = {"ssl": _ws_ssl(self.config)} if self.base.startswith("https") else {}
        try:
            ws = connect(self._ws_url(), additional_headers=self._headers(), open_timeout=self.config.connect_timeout,
                         max_size=MESSAGE_CAP, close_timeout=1, **kw)  # fmt: skip
            return ws.__enter__()  # the connection is ours to close (websockets ≥ 17.1 warns otherwise)
        except Exception:  # no socket (a proxy without websockets): poll /history instead
            return None

    def _follow(self, ws, prompt_id: str, on_progress, cancel: CancelToken) -> None:
        deadline = time.monotonic() + self.config.job_timeout
        reopened = False
        last_poll = time.monotonic()
        while True:
            cancel.check()
            if time.monotonic() > deadline:
                self.cancel(prompt_id)
                raise ComfyError(f"the ComfyUI server did not finish our job within {self.config.job_timeout:.0f} s")
            if ws is None:
                if time.monotonic() - last_poll >= POLL:
                    last_poll = time.monotonic()
                    entry = self.history(prompt_id)
                    if entry is not None and (entry.get("status") or {}).get("completed", True) is not False:
                        return
                    if entry is not None and (entry.get("status") or {}).get("status_str") == "error":
                        return
                    self._check_alive(prompt_id)
                time.sleep(0.05)
                continue
            try:
                raw = ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            except Exception:  # dropped: reopen once, then poll
                ws.close()
                ws = None if reopened else self._open_ws()
                reopened = True
                if self._done(prompt_id):
                    return
                self._check_alive(prompt_id)  # a restarted server has lost it: say so now
                continue
            if not isinstance(raw, str):
                continue  # binary previews
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict) or not isinstance(msg.get("data"), dict):
                continue
            kind, data = msg.get("type"), msg["data"]
            if data.get("prompt_id") != prompt_id:
                continue  # someone else's job (or a status broadcast)
            if kind == "progress":
                on_progress(_int(data.get("value")), _int(data.get("max")), str(data.get("node") or ""))
            elif kind == "execution_error":
                raise ComfyRunError(_run_error(data))
            elif kind == "execution_interrupted":
                raise ComfyRunError("the job was interrupted on the ComfyUI server")
            elif kind == "execution_success" or (kind == "executing" and data.get("node") is None):
                return

    def _done(self, prompt_id: str) -> bool:
        entry = self.history(prompt_id)
        return entry is not None and (entry.get("status") or {}).get("completed", True) is not False

    def _check_alive(self, prompt_id: str) -> None:
        """Polling: the job is neither done nor queued/running → the server lost it (restarted)."""
        q = self.get_json("/queue")
        if isinstance(q, dict):
            items = [*(q.get("queue_running") or []), *(q.get("queue_pending") or [])]
            if any(isinstance(i, list) and len(i) > 1 and i[1] == prompt_id for i in items):
                return
            if self.history(prompt_id) is None:
                raise ComfyError(f"the ComfyUI server lost our job {prompt_id[:8]} (it was restarted?); nothing saved")


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """A PNG/JPEG/WebP from the server as HxWx3 uint8; anything else, or too many pixels, is refused."""
    from PIL import Image

    if not (data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[8:12] == b"WEBP"):
        raise ComfyError(f"the ComfyUI server sent '{name}', which is not a PNG, JPEG or WebP picture")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as im:
            if im.width * im.height > PIXEL_CAP:
                raise ComfyError(f"the ComfyUI server sent a {im.width}x{im.height} picture; refused (too large)")
            return np.asarray(im.convert("RGB"))
    except ComfyError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ComfyError(
            f"the ComfyUI server sent '{name}', a picture of too many pixels; refused (too large)"
        ) from exc
    except Exception as exc:
        raise ComfyError(f"the ComfyUI server sent '{name}', which cannot be read as a picture") from exc


def _raise_for_status(entry: dict) -> None:
    status = entry.get("status") or {}
    if status.get("status_str") == "error":
        for m in status.get("messages") or []:
            if isinstance(m, list) and len(m) == 2 and m[0] == "execution_error" and isinstance(m[1], dict):
                raise ComfyRunError(_run_error(m[1]))
            if isinstance(m, list) and len(m) == 2 and m[0] == "execution_interrupted":
                raise ComfyRunError("the job was interrupted on the ComfyUI server")
        raise ComfyRunError("the ComfyUI server reported an error for our job")


def _run_error(data: dict) -> str:
    node = data.get("node_type") or data.get("node_id") or "a node"
    text = " ".join(str(data.get("exception_message") or data.get("exception_type") or "failed").split())
    return f"the ComfyUI server failed in {node}: {text[:300]}"


def _json(data: bytes, path: str):
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ComfyError(f"the ComfyUI server's answer to {path.split('?')[0]} is not JSON") from exc


def _error_text(data: bytes) -> str:
    try:
        got = json.loads(data)
        if isinstance(got, dict):
            err = got.get("error")
            if isinstance(err, dict):
                return " ".join(str(err.get("message") or err.get("type") or "").split())[:300] or "an error"
            if isinstance(err, str):
                return err[:300]
    except ValueError:
        pass
    return " ".join(data[:300].decode("utf-8", "replace").split()) or "no details"


def _reason(exc: Exception) -> str:
    r = getattr(exc, "reason", None) or exc
    text = str(r)
    for key in ("Connection refused", "Name or service not known", "certificate verify failed", "timed out"):
        if key.lower() in text.lower():
            return key.lower()
    return " ".join(text.split())[:200]


def _int(x) -> int:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0


def _ws_ssl(config: ServerConfig):
    """The wss:// socket checks the certificate as the HTTP requests do: the system's CAs, `ca_file`, or nothing."""
    import ssl

    ctx = ssl.create_default_context(cafile=config.ca_file or None)
    if not config.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
