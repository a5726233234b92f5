"""The on-disk store of everything fetched: one file per query, readable by the ordinary readers.

Written here rather than with hishel or requests-cache: those store HTTP responses (in SQLite or their own
format) and judge freshness by HTTP headers. Overpass and the tile servers send no useful cache headers, an Overpass
answer must be checked (a `<remark>` error is HTTP 200) before it may be kept, and the OSM reader wants a plain
.osm file on disk, not a blob in a database. So an entry is a plain file named by the sha256 of its key, with a
small JSON beside it (what was asked, of whom, when). Every write is a temp file + os.replace: a reader sees the
whole entry or none, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.sources import DAY

_META = ".meta"  # the side file: what was asked, of whom, when (JSON)
_STALE_TEMP = 3600.0  # a temp file older than this is a leftover of a crash or an abandoned download


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Cache:
    """Entries under `root` (default: app.paths.user_cache_dir(), env MAPBRUSH_CACHE_DIR) that expire after
    `max_age` seconds: `get` ignores an expired entry, `get(..., stale=True)` still returns it (for offline use)."""

    def __init__(self, root: Path | str | None = None, *, max_age: float = 30 * DAY) -> None:
        if root is None:
            from app.paths import user_cache_dir

            root = user_cache_dir()
        self.root = Path(root)
        self.max_age = float(max_age)

    @classmethod
    def from_config(cls, config) -> Cache:
        """The cache a SourceConfig names."""
        return cls(config.cache_dir, max_age=config.max_age_s)

    # ----- where ---------------------------------------------------------------------------------------------
    def path_for(self, key: str, suffix: str = "") -> Path:
        """Where the entry for `key` lives (whether or not it exists)."""
        h = _hash(key)
        return self.root / h[:2] / f"{h}{suffix}"

    def temp_dir(self) -> Path:
        """A folder on the cache's file system for downloads in progress (os.replace into place is atomic)."""
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ----- read ----------------------------------------------------------------------------------------------
    def lookup(self, key: str, suffix: str = "", *, stale: bool = False) -> Path | None:
        """The entry's file when present and fresh (or present at all with `stale`), else None."""
        path = self.path_for(key, suffix)
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return None
        if not stale and self.max_age >= 0 and age > self.max_age:
            return None
        return path

    def get(self, key: str, suffix: str = "", *, stale: bool = False) -> bytes | None:
        path = self.lookup(key, suffix, stale=stale)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def meta(self, key: str) -> dict:
        """What `put` recorded beside the entry (query, url, fetched …); {} when none."""
        try:
            return json.loads(self.path_for(key, _META).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def age(self, key: str, suffix: str = "") -> float | None:
        try:
            return time.time() - self.path_for(key, suffix).stat().st_mtime
        except OSError:
            return None

    # ----- write ---------------------------------------------------------------------------------------------
    def put(self, key: str, data: bytes, suffix: str = "", *, meta: dict | None = None) -> Path:
        """Store `data` atomically; returns the entry's path."""
        fd, tmp = tempfile.mkstemp(prefix=".put-", dir=self.temp_dir())
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.put_file(key, Path(tmp), suffix, meta=meta)

    def put_file(self, key: str, tmp: Path, suffix: str = "", *, meta: dict | None = None) -> Path:
        """Move a finished file (made in temp_dir()) into place as the entry for `key`."""
        dest = self.path_for(key, suffix)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if meta is not None:
                self._write_meta(key, {"key": key, "stored": _now_iso(), **meta})
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

    def _write_meta(self, key: str, meta: dict) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".meta-", dir=self.temp_dir())
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(meta, fh, ensure_ascii=False)
            os.replace(tmp, self.path_for(key, _META))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self, key: str, suffix: str = "") -> None:
        for path in (self.path_for(key, suffix), self.path_for(key, _META)):
            path.unlink(missing_ok=True)

    # ----- housekeeping --------------------------------------------------------------------------------------
    def _entries(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for sub in self.root.iterdir():
            if len(sub.name) == 2 and sub.is_dir():
                yield from (p for p in sub.iterdir() if p.is_file() and not p.name.endswith(_META))

    def info(self) -> tuple[int, int]:
        """(entries, bytes on disk, their side files included)."""
        entries = size = 0
        for path in self._entries():
            entries += 1
            with contextlib.suppress(OSError):
                size += path.stat().st_size
                size += path.with_name(path.name.split(".")[0] + _META).stat().st_size
        return entries, size

    def prune(self) -> int:
        """Remove expired entries and stale temp files; returns how many entries went."""
        now, gone = time.time(), 0
        for path in list(self._entries()):
            with contextlib.suppress(OSError):
                if self.max_age >= 0 and now - path.stat().st_mtime > self.max_age:
                    path.unlink()
                    path.with_name(path.name.split(".")[0] + _META).unlink(missing_ok=True)
                    gone += 1
        tmp = self.root / "tmp"
        if tmp.is_dir():
            for path in tmp.iterdir():
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > _STALE_TEMP:
                        path.unlink()
        return gone

    def clear(self) -> tuple[int, int]:
        """Remove every entry; returns what went as (entries, bytes)."""
        gone = self.info()
        for path in list(self._entries()):
            with contextlib.suppress(OSError):
                path.unlink()
        if self.root.is_dir():
            for sub in self.root.iterdir():
                if len(sub.name) == 2 and sub.is_dir():
                    for path in sub.iterdir():  # side files
                        with contextlib.suppress(OSError):
                            path.unlink()
                    with contextlib.suppress(OSError):
                        sub.rmdir()
        return gone


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
