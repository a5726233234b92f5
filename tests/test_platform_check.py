"""The X11 start-up check (app/ui/platform_check.py): on the real PySide6 files, against the real loader."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui.platform_check import (
    PACKAGES,
    desktop_check,
    install_hint,
    missing_libraries,
    qt_folder,
    read_elf_deps,
    uses_xcb,
    window_problem,
)

ROOT = Path(__file__).resolve().parents[1]
QT = qt_folder() if sys.platform.startswith("linux") else None
needs_qt_wheel = pytest.mark.skipif(QT is None, reason="needs Linux and PySide6's bundled Qt (the PyPI wheel)")


def _tool_lines(*args: str) -> list[str]:
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} is not installed")
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()


def _ldd_missing(*files: Path) -> set[str]:
    """What glibc's own `ldd` says is not found (transitively) for these files."""
    lines = _tool_lines("ldd", *map(str, files))
    return {line.split("=>")[0].strip() for line in lines if "=> not found" in line}


def _patched_copy(src: Path, dest: Path, old: str, new: str) -> Path:
    """A copy of a real shared object with one DT_NEEDED name swapped for another of the same length."""
    assert len(old) == len(new)
    data = src.read_bytes()
    assert data.count(old.encode() + b"\0") == 1, f"{old} is not named exactly once in {src}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data.replace(old.encode() + b"\0", new.encode() + b"\0"))
    return dest


def _fake_qt(tmp_path: Path, old: str, new: str) -> Path:
    """tmp/Qt laid out like PySide6's: the xcb plugin (one dependency renamed) and the real Qt lib folder."""
    qt = tmp_path / "Qt"
    _patched_copy(QT / "plugins" / "platforms" / "libqxcb.so", qt / "plugins" / "platforms" / "libqxcb.so", old, new)
    (qt / "lib").symlink_to(QT / "lib", target_is_directory=True)
    return qt


def _tiny_elf(needed: list[str], runpath: str, *, bits64: bool, big: bool) -> bytes:
    """The smallest ELF shared object the parser must read: header, PT_LOAD + PT_DYNAMIC, dynamic string table."""
    end = ">" if big else "<"
    strtab = b"\0"
    offsets = []
    for name in [*needed, runpath]:
        offsets.append(len(strtab))
        strtab += name.encode() + b"\0"
    dyn_fmt, ph_fmt = (end + "qQ", end + "IIQQQQQQ") if bits64 else (end + "iI", end + "IIIIIIII")
    head_size, ph_size = (64, 56) if bits64 else (52, 32)
    vaddr = 0x10000  # the string table's address differs from its file offset, as in real files
    str_off = head_size + 2 * ph_size
    dyn_off = str_off + len(strtab)
    dynamic = b"".join(struct.pack(dyn_fmt, 1, o) for o in offsets[:-1])  # DT_NEEDED
    dynamic += struct.pack(dyn_fmt, 29, offsets[-1]) + struct.pack(dyn_fmt, 5, vaddr) + struct.pack(dyn_fmt, 0, 0)
    size = len(strtab) + len(dynamic)
    if bits64:
        load = struct.pack(ph_fmt, 1, 4, str_off, vaddr, vaddr, size, size, 0x1000)
        dyn = struct.pack(ph_fmt, 2, 4, dyn_off, vaddr + len(strtab), 0, len(dynamic), len(dynamic), 8)
        head = struct.pack(end + "HHIQQQIHHHHHH", 3, 62, 1, 0, head_size, 0, 0, head_size, ph_size, 2, 0, 0, 0)
    else:
        load = struct.pack(ph_fmt, 1, str_off, vaddr, vaddr, size, size, 4, 0x1000)
        dyn = struct.pack(ph_fmt, 2, dyn_off, vaddr + len(strtab), 0, len(dynamic), len(dynamic), 4, 4)
        head = struct.pack(end + "HHIIIIIHHHHHH", 3, 20, 1, 0, head_size, 0, 0, head_size, ph_size, 2, 0, 0, 0)
    ident = b"\x7fELF" + bytes([2 if bits64 else 1, 2 if big else 1, 1]) + bytes(9)
    return ident + head + load + dyn + strtab + dynamic


@pytest.mark.parametrize(("bits64", "big"), [(True, False), (False, False), (False, True), (True, True)])
def test_reads_needed_and_runpath_in_every_elf_class_and_byte_order(tmp_path, bits64, big):
    path = tmp_path / "libtiny.so"
    path.write_bytes(_tiny_elf(["libxcb-icccm.so.4", "libc.so.6"], "$ORIGIN/../lib:/opt/x", bits64=bits64, big=big))
    deps = read_elf_deps(path)
    assert deps.needed == ("libxcb-icccm.so.4", "libc.so.6")
    assert deps.search == ("$ORIGIN/../lib", "/opt/x")


def test_a_file_that_is_not_elf_is_refused(tmp_path):
    path = tmp_path / "libqxcb.so"
    path.write_text("version https://git-lfs.github.com/spec/v1\n")  # what a broken checkout leaves behind
    with pytest.raises(ValueError, match="not an ELF file"):
        read_elf_deps(path)
    (tmp_path / "plugins" / "platforms").mkdir(parents=True)
    (tmp_path / "plugins" / "platforms" / "libqxcb.so").write_bytes(path.read_bytes())
    assert missing_libraries(tmp_path) == []  # nothing to judge: Qt will speak for itself


@needs_qt_wheel
def test_reads_the_real_xcb_plugin_as_readelf_does():
    plugin = QT / "plugins" / "platforms" / "libqxcb.so"
    deps = read_elf_deps(plugin)
    expected = [
        line.split("[", 1)[1].rstrip("]") for line in _tool_lines("readelf", "-d", str(plugin)) if "(NEEDED)" in line
    ]
    assert list(deps.needed) == expected
    assert {"libQt6XcbQpa.so.6", "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"} <= set(deps.needed)
    assert deps.search == ("$ORIGIN/../../lib",)


@needs_qt_wheel
def test_every_system_library_of_the_plugin_has_its_packages():
    """PACKAGES covers every DT_NEEDED outside Qt's folder of the plugin and the Qt libraries the window loads."""
    assert set(_system_needed()) - set(PACKAGES) == set()
    assert "libxcb-icccm.so.4" in _system_needed() and "libdbus-1.so.3" in _system_needed()


def _system_needed() -> list[str]:
    """DT_NEEDED outside Qt's folder of the xcb plugin and the Qt libraries the window loads, first seen first."""
    qt_libs = [QT / "lib" / f"libQt6{m}.so.6" for m in ("XcbQpa", "Widgets", "Gui", "Core", "DBus")]
    names = [n for path in [QT / "plugins" / "platforms" / "libqxcb.so", *qt_libs] for n in read_elf_deps(path).needed]
    glibc = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}
    return [n for n in dict.fromkeys(names) if not (QT / "lib" / n).exists() and n not in glibc]


@needs_qt_wheel
def test_readme_lists_every_package_the_plugin_needs():
    readme = (ROOT / "README.md").read_text()
    apt = re.search(r"sudo apt install ([^#]+)# Debian/Ubuntu", readme).group(1)
    dnf = re.search(r"sudo dnf install ([^#]+)# Fedora", readme).group(1)
    needed = [n for n in _system_needed() if n in PACKAGES]
    assert set(apt.replace("\\", " ").split()) == {PACKAGES[n][0] for n in needed}
    assert set(dnf.replace("\\", " ").split()) == {PACKAGES[n][1] for n in needed}


@needs_qt_wheel
def test_packaging_readme_table_lists_every_package_the_plugin_needs():
    text = (ROOT / "packaging" / "README.md").read_text()
    rows = text.split("| Debian/Ubuntu | Fedora | sonames |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    needed = [n for n in _system_needed() if n in PACKAGES]
    assert {p for c in cells for p in c[0].split(", ")} == {PACKAGES[n][0] for n in needed}
    assert {p for c in cells for p in c[1].split(", ")} == {PACKAGES[n][1] for n in needed}


def test_install_sh_knows_the_same_packages():
    script = (ROOT / "packaging" / "linux" / "install.sh").read_text()
    table = {so: (deb, rpm) for so, deb, rpm in re.findall(r"^ +(lib\S+)\) echo \"(\S+) (\S+)\" ;;$", script, re.M)}
    assert table == PACKAGES


@needs_qt_wheel
@pytest.mark.parametrize("patched", [True, False])
def test_install_sh_check_names_what_the_loader_misses(tmp_path, patched):
    bundle = tmp_path / "My Apps" / "MapBrush"  # a folder name with a space, as people have
    pyside = bundle / "_internal" / "PySide6"
    if patched:
        qt = _fake_qt(pyside, "libxcb-shape.so.0", "libmb-gone-1.so.0")
    else:
        (pyside / "Qt" / "plugins" / "platforms").mkdir(parents=True)
        (pyside / "Qt" / "plugins" / "platforms" / "libqxcb.so").symlink_to(QT / "plugins" / "platforms" / "libqxcb.so")
        (pyside / "Qt" / "lib").symlink_to(QT / "lib", target_is_directory=True)
        qt = pyside / "Qt"
    shutil.copy2(ROOT / "packaging" / "linux" / "install.sh", bundle / "install.sh")
    proc = subprocess.run(["sh", str(bundle / "install.sh"), "--check"], capture_output=True, text=True, timeout=60)
    lost = missing_libraries(qt)
    assert ("libmb-gone-1.so.0" in lost) is patched
    if not lost:
        assert proc.returncode == 0 and "All the system libraries the window needs are there." in proc.stdout
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("MapBrush's window needs these system libraries, which this computer lacks: ")
    assert set(first.split(": ", 1)[1].split()) == set(lost)
    known = [n for n in lost if n in PACKAGES]
    if known:
        assert f"sudo apt install {PACKAGES[known[0]][0]}" in proc.stdout


@needs_qt_wheel
def test_missing_libraries_agree_with_ldd():
    assert set(missing_libraries(QT)) == _ldd_missing(
        QT / "plugins" / "platforms" / "libqxcb.so", QT / "lib" / "libQt6Widgets.so.6"
    )


@needs_qt_wheel
def test_a_library_the_loader_cannot_find_is_named_with_what_to_install(tmp_path):
    qt = _fake_qt(tmp_path, "libxcb-shape.so.0", "libmb-gone-1.so.0")
    lost = missing_libraries(qt)
    assert "libmb-gone-1.so.0" in lost
    assert set(lost) == _ldd_missing(qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6Widgets.so.6")
    problem = window_problem({"DISPLAY": ":0"}, platform="linux", qt=qt)
    assert problem.startswith("the window needs these system libraries: ")
    assert "libmb-gone-1.so.0" in problem
    assert "\n" not in problem


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's loader")
def test_a_dependency_of_a_found_library_is_named_itself(tmp_path):
    """dlopen finds the library but not one of ITS dependencies: the report names the dependency."""
    ctypes.CDLL("libz.so.1")
    with open("/proc/self/maps") as maps:
        libz = next(Path(line.split()[-1]) for line in maps if "/libz.so" in line)
    copy = _patched_copy(libz, tmp_path / "libz.so.1", "libc.so.6", "libq.so.6")
    from app.ui.platform_check import _load_error

    assert _load_error(str(copy)) == "libq.so.6"
    assert _load_error("libz.so.1") is None
    assert _load_error("libmb-never-there.so.3") == "libmb-never-there.so.3"


def test_install_hint_names_debian_and_fedora_packages_once():
    hint = install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-shape.so.0", "libxcb-xkb.so.1"])
    assert hint == (
        "Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xkb1; "
        "Fedora: sudo dnf install xcb-util-wm xcb-util-keysyms libxcb"
    )
    assert install_hint(["libmb-unknown.so.1"]) == "install the packages that provide them"


@pytest.mark.parametrize(
    ("env", "platform", "xcb"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux", False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),  # Qt tries Wayland first
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "linux", False),
        ({}, "linux", False),  # no screen at all: the CLI says so itself
        ({"DISPLAY": ":0"}, "darwin", False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "win32", False),
    ],
)
def test_the_check_runs_only_where_qt_uses_xcb(env, platform, xcb, tmp_path):
    assert uses_xcb(env, platform) is xcb
    empty = tmp_path / "Qt"  # no plugin: only the display can be missing
    (empty / "plugins" / "platforms").mkdir(parents=True)
    problem = window_problem(env, platform=platform, qt=empty)
    assert problem is None or xcb


def test_xcb_without_display_is_said(tmp_path):
    (tmp_path / "plugins" / "platforms").mkdir(parents=True)
    problem = window_problem({"QT_QPA_PLATFORM": "xcb"}, platform="linux", qt=tmp_path)
    assert "QT_QPA_PLATFORM=xcb but DISPLAY is not set" in problem


def _gui_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    return {**env, **extra}


@needs_qt_wheel
def test_mapbrush_gui_names_the_missing_library_and_exits_2_before_qt(tmp_path):
    site = tmp_path / "site"
    fake = site / "PySide6"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('this fake PySide6 must never be imported')\n")
    _fake_qt(fake, "libxcb-shape.so.0", "libmb-gone-1.so.0")
    env = _gui_env(DISPLAY=":97", PYTHONPATH=str(site))
    proc = subprocess.run(
        [sys.executable, "-m", "app", "gui", str(ROOT / "resources" / "examples" / "harbour_town.geojson")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mapbrush: error: the window needs these system libraries: ")
    assert "libmb-gone-1.so.0" in lines[0] and "mapbrush render" in lines[0]


@needs_qt_wheel
@pytest.mark.slow
def test_a_healthy_x11_desktop_opens_the_window(tmp_path):
    """Under a real X server (Xvfb) the check lets the window start: it paints the demo town and saves a screenshot."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt install xvfb xauth)")
    if missing_libraries(QT):
        pytest.skip(f"this machine lacks {', '.join(missing_libraries(QT))}: not a healthy desktop")
    shot = tmp_path / "window.png"
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "app", "gui",
         str(ROOT / "resources" / "examples" / "harbour_town.geojson"), "--screenshot", str(shot)],
        capture_output=True, text=True, env=_gui_env(), cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(shot) as im:
        assert im.width > 600 and im.height > 400
        assert len(im.convert("RGB").getcolors(1 << 20) or range(1 << 20)) > 50  # a painted map, not a blank window


@needs_qt_wheel
def test_doctor_names_the_missing_window_libraries_in_one_line(tmp_path):
    site = tmp_path / "site"
    fake = site / "PySide6"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('this fake PySide6 must never be imported')\n")
    _fake_qt(fake, "libxcb-shape.so.0", "libmb-gone-1.so.0")
    env = _gui_env(PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-m", "app", "doctor"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("Window (X11)"))
    # This machine may lack other window libraries too (named first, with their packages): the fake one is named,
    # the present one is not.
    assert "missing " in line and "libmb-gone-1.so.0" in line and "libxcb-shape" not in line
    notes = [x for x in proc.stdout.splitlines() if x.startswith("  - For the window, missing")]
    assert len(notes) == 1 and "libmb-gone-1.so.0" in notes[0]


@needs_qt_wheel
def test_doctor_says_ok_where_the_loader_finds_everything():
    ok, line = desktop_check(qt=QT)
    assert ok is (not missing_libraries(QT))
    assert line.startswith("OK") if ok else all(lib in line for lib in missing_libraries(QT))
    assert desktop_check(platform="darwin") is None and desktop_check(platform="win32") is None


def test_doctor_without_pyside6_says_so(tmp_path, monkeypatch):
    import app.ui.platform_check as pc

    monkeypatch.setattr(pc, "qt_folder", lambda: None)  # a CLI-only install
    ok, line = desktop_check(platform="linux")
    assert not ok and "PySide6 is not installed" in line
