"""Fetch model files from the Hugging Face hub: resolve, resume, report progress, verify.

huggingface_hub (the `ai` extra) is imported inside the functions only. `hf_hub_download` is not
used for the transfer because huggingface_hub 1.x/2.x deletes a partial download when it fails
(process-unique temp files), so nothing could resume. Instead each file goes to
`<name>.<etag>.incomplete` next to its destination and `huggingface_hub.file_download.http_get`
continues it with an HTTP Range request; the hub's metadata (HEAD) gives URL, size and ETag.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError
from app.jobs.cancel import NEVER, CancelToken
from app.models.schema import ModelEntry, Variant

_CHUNK = 8 * 1024 * 1024


class DownloadError(AppError):
    """The hub refused or the transfer failed; the message says what to do."""


class NotEnoughDisk(DownloadError):
    """Less free disk than the files still to fetch."""


@dataclass(frozen=True)
class RemoteFile:
    repo: str
    path: str  # path inside the repo
    size: int | None
    sha256: str | None  # LFS sha256 from the hub; None for small (non-LFS) files

    @property
    def key(self) -> str:
        return f"{self.repo}/{self.path}"


def repo_dir(root: Path, repo: str) -> Path:
    """Local folder that mirrors a hub repo's layout: <root>/hub/<owner>--<name>."""
    return root / "hub" / repo.replace("/", "--")


def local_path(root: Path, rf: RemoteFile) -> Path:
    return repo_dir(root, rf.repo) / rf.path


def _endpoint(endpoint: str | None) -> str | None:
    """The hub to use: the argument, else HF_ENDPOINT as it is now (mirrors), else huggingface_hub's default."""
    import os

    return endpoint or os.environ.get("HF_ENDPOINT") or None


def wanted_paths(entry: ModelEntry, variant: Variant) -> list[tuple[str, str]]:
    """(repo, file or folder/) pairs a variant needs: its own file plus its components' files."""
    out: list[tuple[str, str]] = []
    if variant.file:
        out.append((variant.repo, variant.file))
    for name in variant.components:
        component = entry.components[name]
        out.extend((component.repo, f) for f in component.files)
    return list(dict.fromkeys(out))


def resolve_files(
    entry: ModelEntry, variant: Variant, *, revision: str = "main", endpoint: str | None = None, token=None
) -> list[RemoteFile]:
    """Ask the hub for the exact files (with sizes and sha256) a variant needs. Network."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=_endpoint(endpoint), token=token)
    by_repo: dict[str, list[str]] = {}
    for repo, path in wanted_paths(entry, variant):
        by_repo.setdefault(repo, []).append(path)
    files: list[RemoteFile] = []
    for repo, paths in by_repo.items():
        with _hub_errors(repo):
            infos = api.get_paths_info(repo, [p.rstrip("/") for p in paths], revision=revision)
            found = {info.path: info for info in infos}
            for path in paths:
                info = found.get(path.rstrip("/"))
                if info is None:
                    raise DownloadError(f"{repo} has no '{path}' (the catalog may be out of date)")
                if isinstance(info, RepoFile):
                    files.append(_remote(repo, info))
                else:
                    tree = api.list_repo_tree(repo, info.path, recursive=True, revision=revision)
                    files.extend(_remote(repo, item) for item in tree if isinstance(item, RepoFile))
    if variant.file and variant.sha256:
        own = next(f for f in files if f.repo == variant.repo and f.path == variant.file)
        if own.sha256 and own.sha256 != variant.sha256:
            raise DownloadError(f"{variant.repo}/{variant.file} changed on the hub (sha256 differs from the catalog)")
    return list({f.key: f for f in files}.values())


def _remote(repo: str, info) -> RemoteFile:
    return RemoteFile(repo, info.path, info.size, info.lfs.sha256 if info.lfs else None)


class _hub_errors:
    """Turn huggingface_hub / network exceptions into a DownloadError a person can act on."""

    def __init__(self, repo: str) -> None:
        self.repo = repo

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, AppError):
            return False
        from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

        if isinstance(exc, GatedRepoError):
            raise DownloadError(
                f"{self.repo} is gated: log in with `hf auth login` and accept the licence at "
                f"https://huggingface.co/{self.repo} first"
            ) from exc
        if isinstance(exc, RepositoryNotFoundError):
            raise DownloadError(f"{self.repo} was not found on the hub (or needs a login)") from exc
        if isinstance(exc, HfHubHTTPError | OSError) or type(exc).__module__.startswith(("httpx", "httpcore")):
            raise DownloadError(f"could not fetch from the model hub ({self.repo}): {_short(exc)}") from exc
        return False


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def partial_path(dest: Path, etag: str) -> Path:
    tag = re.sub(r"[^0-9A-Za-z]", "", etag)[:16] or "noetag"
    return dest.with_name(f"{dest.name}.{tag}.incomplete")


def partial_bytes(dest: Path) -> int:
    """Bytes already fetched for `dest` in any partial file (for the free-disk check)."""
    if not dest.parent.is_dir():
        return 0
    return sum(p.stat().st_size for p in dest.parent.glob(f"{dest.name}.*.incomplete"))


def fetch_file(
    rf: RemoteFile,
    dest: Path,
    *,
    on_bytes: Callable[[int], None],
    cancel: CancelToken = NEVER,
    revision: str = "main",
    endpoint: str | None = None,
    token=None,
) -> None:
    """Download one file to `dest`, resuming a partial one. `on_bytes(n)` may raise Cancelled."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    if "tqdm_class" not in inspect.signature(http_get).parameters:
        raise DownloadError("huggingface_hub is too old; update it: python -m pip install -U huggingface_hub")
    cancel.check()
    url = hf_hub_url(rf.repo, rf.path, revision=revision, endpoint=_endpoint(endpoint))
    with _hub_errors(rf.repo):
        meta = get_hf_file_metadata(url, token=token)
    size = meta.size if meta.size is not None else rf.size
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(dest, meta.etag or "")
    for stale in dest.parent.glob(f"{dest.name}.*.incomplete"):
        if stale != part:  # the file changed on the hub: that partial is useless
            stale.unlink(missing_ok=True)
    resume = part.stat().st_size if part.exists() else 0
    if size is not None and resume > size:
        part.unlink()
        resume = 0
    if resume:
        on_bytes(resume)
    hook = _progress_hook(on_bytes, cancel)
    with open(part, "r+b" if part.exists() else "wb") as fh, _hub_errors(rf.repo):
        fh.seek(0, os.SEEK_END)
        http_get(
            meta.location,
            fh,
            resume_size=resume,
            headers=build_hf_headers(token=token),
            expected_size=size,
            displayed_filename=rf.path,
            tqdm_class=hook,
        )
    os.replace(part, dest)


def _progress_hook(on_bytes: Callable[[int], None], cancel: CancelToken):
    """A tqdm stand-in for http_get: forwards byte counts and stops the transfer on cancel."""

    class _Hook:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> bool:
            return False

        def update(self, n: int = 1) -> None:
            cancel.check()  # raises Cancelled; the partial file stays for the next attempt
            on_bytes(n)

        def close(self) -> None:
            pass

    return _Hook


def sha256_file(path: Path, *, on_bytes: Callable[[int], None] = lambda n: None, cancel=NEVER) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            cancel.check()
            digest.update(chunk)
            on_bytes(len(chunk))
    return digest.hexdigest()


class Meter:
    """Bytes done of a total, with a smoothed speed, reported through `progress`."""

    def __init__(self, progress, stage: str, total: int, clock=time.monotonic) -> None:
        self.progress, self.stage, self.total, self.clock = progress, stage, total, clock
        self.done = 0
        self.label = ""
        self._t0 = clock()
        self._mark = (self._t0, 0)
        self.speed = 0.0  # bytes/s

    def add(self, n: int) -> None:
        self.done += n
        now = self.clock()
        t, b = self._mark
        if now - t >= 0.5:
            rate = (self.done - b) / (now - t)
            self.speed = rate if self.speed == 0 else 0.7 * self.speed + 0.3 * rate
            self._mark = (now, self.done)
        self.report()

    def report(self) -> None:
        speed = f" at {human_bytes(self.speed)}/s" if self.speed else ""
        message = f"{self.label} — {human_bytes(self.done)} of {human_bytes(self.total)}{speed}"
        self.progress(self.stage, min(self.done, self.total), self.total, message)


def human_bytes(n: float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
