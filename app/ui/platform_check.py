"""Before the window opens on Linux/X11: are the system libraries under Qt's xcb platform plugin there?

When one is missing Qt prints "xcb-cursor0 or libxcb-cursor0 is needed…" (whichever library is really missing)
and aborts the process. This asks the dynamic loader about every library the plugin and the Qt libraries
beneath it need (their ELF DT_NEEDED entries), without importing Qt, and names the missing ones together with
the packages that carry them. It reads a few ELF headers and dlopens libraries Qt would load a moment later
anyway: a few milliseconds.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError

# soname → (Debian/Ubuntu package, Fedora package). Every library PySide6's libqxcb.so, libQt6XcbQpa.so.6 and
# libQt6Widgets/Gui/Core/DBus.so.6 name in DT_NEEDED outside Qt's own folder (PySide6 6.11, readelf -d).
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
}

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 1, 5, 15, 29


class WindowUnavailable(AppError):
    """The window cannot start on this desktop (a system library or the display is missing)."""

    exit_code = 2


@dataclass(frozen=True)
class ElfDeps:
    needed: tuple[str, ...]  # DT_NEEDED sonames, in file order
    search: tuple[str, ...]  # DT_RUNPATH (or DT_RPATH) folders, $ORIGIN not yet expanded


def read_elf_deps(path: str | os.PathLike) -> ElfDeps:
    """The DT_NEEDED and DT_RUNPATH/DT_RPATH entries of an ELF shared object (32/64-bit, either byte order).

    Read through the program headers (PT_DYNAMIC, PT_LOAD), which even a section-stripped file keeps.
    Raises ValueError for a file that is not ELF or has no dynamic section."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ValueError(f"{path}: not an ELF file")
        bits64, end = ident[4] == 2, "<" if ident[5] == 1 else ">"
        head = struct.Struct(end + ("HHIQQQIHHHHHH" if bits64 else "HHIIIIIHHHHHH"))
        fields = head.unpack(f.read(head.size))
        phoff, phentsize, phnum = fields[4], fields[8], fields[9]
        # (type, offset, vaddr, filesz) from each program header
        ph = struct.Struct(end + ("IIQQQQQQ" if bits64 else "IIIIIIII"))
        segments = []
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p = ph.unpack(f.read(ph.size))
            segments.append((p[0], p[2], p[3], p[5]) if bits64 else (p[0], p[1], p[2], p[4]))
        dynamic = next(((off, size) for kind, off, _, size in segments if kind == PT_DYNAMIC), None)
        if dynamic is None:
            raise ValueError(f"{path}: no dynamic section")
        f.seek(dynamic[0])
        raw = f.read(dynamic[1])
        dyn = struct.Struct(end + ("qQ" if bits64 else "iI"))
        entries = []
        for tag, value in dyn.iter_unpack(raw[: len(raw) - len(raw) % dyn.size]):
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        if strtab is None:
            raise ValueError(f"{path}: no dynamic string table")
        # DT_STRTAB is an address: find the loaded segment holding it to get its place in the file
        base = next(
            (off + strtab - va for kind, off, va, size in segments if kind == PT_LOAD and va <= strtab < va + size),
            None,
        )
        if base is None:
            raise ValueError(f"{path}: dynamic string table outside every segment")

        def string(offset: int) -> str:
            f.seek(base + offset)
            data = b""
            while b"\0" not in data and (chunk := f.read(256)):
                data += chunk
            return data.split(b"\0", 1)[0].decode("utf-8", "replace")

        needed = tuple(string(v) for t, v in entries if t == DT_NEEDED)
        runpath = [string(v) for t, v in entries if t == DT_RUNPATH] or [string(v) for t, v in entries if t == DT_RPATH]
    return ElfDeps(needed, tuple(d for item in runpath for d in item.split(":") if d))


def qt_folder() -> Path | None:
    """PySide6's Qt folder (…/PySide6/Qt, with lib/ and plugins/), found without importing PySide6."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for place in spec.submodule_search_locations or []:
        qt = Path(place) / "Qt"
        if (qt / "plugins" / "platforms").is_dir():
            return qt
    return None


def missing_libraries(qt: Path) -> list[str]:
    """Sonames the dynamic loader cannot find for Qt's xcb platform plugin (and QtWidgets) under `qt`, in order.

    Libraries in Qt's folder (found through each file's RUNPATH, as the loader finds them) are followed into
    their own DT_NEEDED; every other library is dlopened, which also proves its own dependencies are there."""
    roots = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6Widgets.so.6"]
    extra = [Path(sys._MEIPASS)] if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS") else []
    missing: list[str] = []
    seen: set[str] = set()
    todo = [p for p in roots if p.is_file()]
    while todo:
        path = todo.pop(0)
        try:
            deps = read_elf_deps(path)
        except (OSError, ValueError):
            continue
        folders = [
            Path(d.replace("$ORIGIN", str(path.parent)).replace("${ORIGIN}", str(path.parent))) for d in deps.search
        ]
        for name in deps.needed:
            if name in seen:
                continue
            seen.add(name)
            local = next((d / name for d in [*folders, *extra] if (d / name).is_file()), None)
            if local is not None:
                todo.append(local)
                continue
            lost = _load_error(name)
            if lost and lost not in missing:
                missing.append(lost)
    return missing


def _load_error(soname: str) -> str | None:
    """None when the loader finds `soname` with all its dependencies, else the soname it could not open."""
    try:
        ctypes.CDLL(soname, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        # glibc names the file it could not open first: the library itself or one of its own dependencies
        first = str(exc).split(":", 1)[0].strip()
        return first if first.startswith("lib") and ".so" in first and "/" not in first else soname
    return None


def install_hint(sonames: list[str]) -> str:
    """'Debian/Ubuntu: sudo apt install …; Fedora: sudo dnf install …' for the sonames we know."""
    known = [PACKAGES[s] for s in sonames if s in PACKAGES]
    if not known:
        return "install the packages that provide them"
    debian = " ".join(dict.fromkeys(d for d, _ in known))
    fedora = " ".join(dict.fromkeys(r for _, r in known))
    return f"Debian/Ubuntu: sudo apt install {debian}; Fedora: sudo dnf install {fedora}"


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Will Qt pick its xcb (X11) platform plugin? Mirrors QGuiApplication: an explicit QT_QPA_PLATFORM wins;
    otherwise Wayland comes first when WAYLAND_DISPLAY or XDG_SESSION_TYPE=wayland says so, then X11 with DISPLAY."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(":", 1)[0] == "xcb"
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return False
    return bool(environ.get("DISPLAY"))


def window_problem(
    environ: Mapping[str, str] | None = None, *, platform: str = sys.platform, qt: Path | None = None
) -> str | None:
    """Why the window cannot start on X11 here, as one line, or None (also when Qt will not use xcb)."""
    environ = os.environ if environ is None else environ
    if not uses_xcb(environ, platform):
        return None
    qt = qt or qt_folder()
    lost = missing_libraries(qt) if qt is not None else []
    no_display = not environ.get("DISPLAY")
    if not lost and not no_display:
        return None
    parts = []
    if lost:
        parts.append(f"the window needs these system libraries: {', '.join(lost)} ({install_hint(lost)})")
    if no_display:
        parts.append("QT_QPA_PLATFORM=xcb but DISPLAY is not set (no X11 screen to open the window on)")
    return "; and ".join(parts) + "; or render from the command line: mapbrush render --example -o harbour.png"


def desktop_check(*, platform: str = sys.platform, qt: Path | None = None) -> tuple[bool, str] | None:
    """For `mapbrush doctor` on Linux: (ok, one line) on the system libraries Qt's X11 plugin needs, whatever
    the display in use now; None on other systems."""
    if not platform.startswith("linux"):
        return None
    qt = qt or qt_folder()
    if qt is None:
        return False, "PySide6 is not installed (pip install 'PySide6-Essentials>=6.8,<6.12'); the CLI works without it"
    lost = missing_libraries(qt)
    if lost:
        return False, f"missing {', '.join(lost)}: {install_hint(lost)}"
    return True, "OK (every system library of Qt's xcb plugin is there)"


def check_window(environ: Mapping[str, str] | None = None) -> None:
    """Raise WindowUnavailable (exit 2) with window_problem()'s line; nothing when the window can start."""
    problem = window_problem(environ)
    if problem:
        raise WindowUnavailable(problem)
