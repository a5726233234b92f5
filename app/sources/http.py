"""HTTP for the network sources: streamed with a size bound, polite, retried, cancellable.

urllib3 does the transport: it is small, already installed under `requests`, streams a body in chunks
(`preload_content=False`), decodes gzip chunk by chunk within the bound, and takes separate connect and read
timeouts. requests and httpx add sessions and APIs we would not use. It is imported on the first request only, so
starting the app or the CLI does not pay for it.

A request runs in a short-lived worker thread while the calling thread watches the CancelToken every 50 ms: a
cancel returns at once (within a second even while a server sends nothing), and the worker stops at its next chunk
and removes what it wrote. Waits between retries and for a host's rate limit are cancellable too.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from app.errors import Cancelled, NetworkError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.sources import USER_AGENT, SourceConfig

RETRY_STATUS = frozenset({429, 503, 504})
CHUNK = 64 * 1024
POLL = 0.05  # seconds between looks at the cancel token
_ERROR_TEXT = 2048  # bytes of an error answer kept for the message


class SourceError(NetworkError):
    """A network source failed: unreachable, refused, too slow, too large, or an answer we cannot use."""


# ----- per-host rate limit ---------------------------------------------------------------------------------
class _Slots:
    """Process-wide next-free time per host: a politeness rule holds across every caller and thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str, interval: float) -> float:
        """Take the host's next slot; returns the monotonic time to wait for."""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(host, 0.0))
            self._next[host] = at + interval
            return at


_SLOTS = _Slots()


def wait_turn(host: str, interval: float, cancel: CancelToken = NEVER) -> None:
    """Wait until `host` may get another request: at most one every `interval` seconds (Nominatim: 1 s)."""
    if interval > 0:
        sleep(_SLOTS.reserve(host, interval) - time.monotonic(), cancel)


def sleep(seconds: float, cancel: CancelToken = NEVER) -> None:
    """time.sleep that a cancel interrupts (raises Cancelled)."""
    end = time.monotonic() + max(0.0, seconds)
    while True:
        cancel.check()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(POLL, left))


# ----- the transport ---------------------------------------------------------------------------------------
_pool = None
_pool_lock = threading.Lock()


def _manager():
    global _pool
    with _pool_lock:
        if _pool is None:
            import urllib3

            _pool = urllib3.PoolManager(num_pools=8, maxsize=4, headers={"User-Agent": USER_AGENT})
        return _pool


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


class _Attempt:
    """One request in a worker thread; the caller watches `done` and may set `abort`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.abort = threading.Event()
        self.status = 0
        self.headers: Mapping[str, str] = {}
        self.received = 0
        self.total = 0
        self.error: BaseException | None = None
        self.error_text = b""
        self.response = None


def _run_attempt(
    att: _Attempt,
    method: str,
    url: str,
    *,
    fields,
    headers,
    timeout: float,
    connect_timeout: float,
    max_bytes: int,
    open_sink: Callable,
    label: str,
) -> None:
    import urllib3

    try:
        retry = urllib3.Retry(total=None, connect=0, read=0, redirect=5, status=0, other=0, raise_on_status=False)
        kw = dict(
            fields=fields,
            headers=headers,
            preload_content=False,
            retries=retry,
            timeout=urllib3.Timeout(connect=connect_timeout, read=timeout),
        )
        if method == "POST":
            kw["encode_multipart"] = False
        resp = _manager().request(method, url, **kw)
        att.response = resp
        complete = False
        try:
            att.status, att.headers = resp.status, resp.headers
            if resp.status != 200:
                att.error_text = resp.read(_ERROR_TEXT, decode_content=True) or b""
                return
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and resp.headers.get("Content-Encoding", "identity") == "identity":
                att.total = int(length)
                if att.total > max_bytes:
                    raise SourceError(f"{label}: the answer is {_mib(att.total)}, over the {_mib(max_bytes)} limit")
            with open_sink() as write:
                while not att.abort.is_set():
                    chunk = resp.read(CHUNK, decode_content=True)
                    if not chunk:
                        break
                    att.received += len(chunk)
                    if att.received > max_bytes:
                        raise SourceError(f"{label}: the answer is larger than the {_mib(max_bytes)} limit")
                    write(chunk)
                if att.abort.is_set():
                    raise Cancelled()  # inside the sink: what was written goes
                if att.total and att.received < att.total and not att.abort.is_set():
                    raise SourceError(f"{label}: the answer was cut off ({att.received:,} of {att.total:,} bytes)")
            complete = True
        finally:
            if complete:
                resp.release_conn()
            else:
                resp.close()
    except BaseException as exc:  # handed to the caller's thread
        att.error = exc
    finally:
        att.done.set()


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 10 * 2**20 else f"{n / 2**20:.0f} MiB"


def _explain(exc: BaseException, label: str, timeout: float) -> SourceError:
    """A urllib3 failure as one plain line."""
    import urllib3.exceptions as ue

    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, ue.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, ue.NameResolutionError):
        return SourceError(f"{label}: cannot reach the server (no network, or the name does not resolve)")
    if isinstance(exc, ue.NewConnectionError):  # before ConnectTimeoutError: urllib3 2 makes it a subclass of that
        return SourceError(f"{label}: cannot reach the server (connection refused or no network)")
    if isinstance(exc, ue.ConnectTimeoutError):
        return SourceError(f"{label}: cannot reach the server (no answer within {timeout:g} s)")
    if isinstance(exc, ue.ReadTimeoutError):
        return SourceError(f"{label}: the server stopped answering (nothing for {timeout:g} s)")
    if isinstance(exc, ue.SSLError):
        return SourceError(f"{label}: the secure connection failed ({exc})")
    if isinstance(exc, ue.DecodeError):
        return SourceError(f"{label}: the answer is corrupt (its compression cannot be decoded)")
    if isinstance(exc, ue.ProtocolError | ue.HTTPError):
        return SourceError(f"{label}: the connection broke off ({_short(exc)})")
    if isinstance(exc, OSError):
        return SourceError(f"{label}: cannot store the answer ({exc.strerror or exc})")
    raise exc


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent or unreadable."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _status_error(att: _Attempt, label: str) -> SourceError:
    text = att.error_text.decode("utf-8", "replace")
    # an HTML error page: keep its words only, for the one line
    import re

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())[:160]
    busy = " (the server is busy; try again later)" if att.status in RETRY_STATUS else ""
    return SourceError(f"{label}: the server answered HTTP {att.status}{busy}" + (f": {text}" if text else ""))


def _request(
    method: str,
    url: str,
    *,
    fields,
    max_bytes: int,
    timeout: float,
    cancel: CancelToken,
    progress: Progress,
    accept: str | None,
    config: SourceConfig | None,
    min_interval: float,
    label: str | None,
    open_sink: Callable,
    connect_timeout: float | None = None,
) -> None:
    config = config or SourceConfig()
    host = host_of(url)
    label = label or host
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if accept:
        headers["Accept"] = accept
    waited = 0.0
    for attempt in range(config.retries + 1):
        cancel.check()
        wait_turn(host, min_interval, cancel)
        att = _Attempt()
        worker = threading.Thread(
            target=_run_attempt,
            args=(att, method, url),
            kwargs=dict(
                fields=fields,
                headers=headers,
                timeout=timeout,
                max_bytes=max_bytes,
                open_sink=open_sink,
                label=label,
                connect_timeout=connect_timeout or timeout,
            ),
            name="mapbrush-http",
            daemon=True,
        )
        worker.start()
        progress("fetch", 0, 0, f"asking {label}")
        while not att.done.wait(POLL):
            if cancel.cancelled:
                att.abort.set()
                resp = att.response
                if resp is not None:  # unblock a read that waits on a silent server
                    with contextlib.suppress(Exception):
                        resp.shutdown()
                raise Cancelled()
            if att.received:
                progress("fetch", att.received, att.total, f"{label}: {_mib(att.received)}")
        if att.error is not None:
            raise _explain(att.error, label, timeout) from None
        if att.status == 200:
            progress("fetch", att.received, att.received, f"{label}: {_mib(att.received)}")
            return
        if att.status not in RETRY_STATUS or attempt == config.retries:
            raise _status_error(att, label)
        pause = retry_after(att.headers)
        pause = config.backoff * 2**attempt if pause is None else pause
        if waited + pause > config.max_wait:
            raise _status_error(att, label)
        progress("fetch", 0, 0, f"{label} is busy (HTTP {att.status}); trying again in {pause:.0f} s")
        sleep(pause, cancel)
        waited += pause
    raise AssertionError("unreachable")  # pragma: no cover


def get(
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    max_bytes: int,
    timeout: float = 30,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
    accept: str | None = None,
    config: SourceConfig | None = None,
    min_interval: float = 0.0,
    label: str | None = None,
) -> bytes:
    """GET `url` (with query `params`) and return the body, at most `max_bytes` of it (else SourceError).

    429/503/504 are retried with exponential backoff (config.backoff, doubled; Retry-After wins) up to
    config.retries times and config.max_wait seconds of pauses in all; `min_interval` spaces requests to one host.
    """
    body = bytearray()

    @contextlib.contextmanager
    def sink():
        body.clear()  # a retry starts over
        yield body.extend

    _request(
        "GET",
        url,
        fields=params,
        max_bytes=max_bytes,
        timeout=timeout,
        cancel=cancel,
        progress=progress,
        accept=accept,
        config=config,
        min_interval=min_interval,
        label=label,
        open_sink=sink,
    )
    return bytes(body)


def download(
    url: str,
    folder: Path,
    *,
    method: str = "GET",
    params: Mapping[str, str] | None = None,
    max_bytes: int,
    timeout: float = 30,
    cancel: CancelToken = NEVER,
    progress: Progress = NULL_PROGRESS,
    accept: str | None = None,
    config: SourceConfig | None = None,
    min_interval: float = 0.0,
    label: str | None = None,
    suffix: str = ".part",
    connect_timeout: float | None = None,
) -> Path:
    """Stream the answer into a new temporary file in `folder` and return its path; the caller checks it and
    moves it into place (os.replace) or deletes it. On any failure or cancel nothing is left behind (a worker
    abandoned mid-read by a cancel removes its file when it stops)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []

    @contextlib.contextmanager
    def sink():
        for old in made:  # a retry starts over
            old.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(prefix=".fetch-", suffix=suffix, dir=folder)
        made.append(Path(name))
        ok = False
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh.write
            ok = True
        finally:
            if not ok:
                Path(name).unlink(missing_ok=True)

    try:
        _request(
            method,
            url,
            fields=params,
            max_bytes=max_bytes,
            timeout=timeout,
            cancel=cancel,
            progress=progress,
            accept=accept,
            config=config,
            min_interval=min_interval,
            label=label,
            open_sink=sink,
            connect_timeout=connect_timeout,
        )
    except BaseException:
        for old in made:
            old.unlink(missing_ok=True)
        raise
    return made[-1]
