"""The files a KML may reach: members of its KMZ, or files in the KML's own folder. Nothing else: no URL,
no absolute path, nothing outside the archive or the folder."""

from __future__ import annotations

import posixpath
import re
import urllib.parse
import zipfile
from pathlib import Path
from typing import BinaryIO

from app.errors import InputError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_ERRORS = (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError)


class Package:
    """Resolves the hrefs met in a document and opens what they name. `root` is the main document's name in
    the package; `shown` is the user's file (errors name it, never a temporary path)."""

    def __init__(self, shown, root: str, *, zf: zipfile.ZipFile | None = None, folder: Path | None = None) -> None:
        self.shown, self.root, self.zf = shown, root, zf
        self.folder = folder.resolve() if folder is not None else None
        self.where = "the KMZ" if zf is not None else "the KML's folder"
        self.members: dict[str, zipfile.ZipInfo] = {}
        if zf is not None:
            self.members = {i.filename.replace("\\", "/"): i for i in zf.infolist() if not i.is_dir()}
        self._lower = {k.lower(): k for k in self.members}

    def resolve(self, base: str, href: str) -> tuple[str | None, str | None]:
        """(file name in the package, None), or (None, why not) for an href met in document `base`."""
        href = href.strip()
        if _SCHEME.match(href) and not _DRIVE.match(href):
            return None, f"remote link {href}"
        path = urllib.parse.unquote(href.split("#", 1)[0].split("?", 1)[0]).replace("\\", "/")
        if not path or path.startswith("/") or _DRIVE.match(path):
            return None, f"absolute path {href} refused"
        tries = [posixpath.normpath(posixpath.join(posixpath.dirname(base), path))]
        if self.zf is not None:
            tries.append(posixpath.normpath(path))  # Google Earth also looks from the archive's root
        if any(t == ".." or t.startswith("../") for t in tries):
            return None, f"{href} is outside {self.where}, refused"
        for t in tries:
            if self.zf is not None:
                name = t if t in self.members else self._lower.get(t.lower())
                if name:
                    return name, None
                continue
            full = (self.folder / t).resolve()
            if not full.is_relative_to(self.folder):  # a symbolic link out of the folder
                return None, f"{href} is outside {self.where}, refused"
            if full.is_file():
                return t, None
        return None, f"{href} is not in {self.where}"

    def size(self, name: str) -> int:
        try:
            return self.members[name].file_size if self.zf is not None else (self.folder / name).stat().st_size
        except OSError as e:
            raise InputError(f"cannot read {name} ({e.strerror or e})", path=self.shown) from None

    def open(self, name: str) -> BinaryIO:
        try:
            return self.zf.open(self.members[name]) if self.zf is not None else open(self.folder / name, "rb")
        except _ZIP_ERRORS as e:
            raise InputError(f"cannot read {name} ({e})", path=self.shown) from None

    def read(self, name: str, cap: int) -> bytes:
        """All of a file, refusing more than `cap` bytes (a zip member may lie about its size)."""
        try:
            with self.open(name) as f:
                data = f.read(cap + 1)
        except _ZIP_ERRORS as e:
            raise InputError(f"cannot read {name} ({e})", path=self.shown) from None
        if len(data) > cap:
            raise InputError(f"{name} is larger than the limit allows", path=self.shown)
        return data
