"""Build the MapBrush bundle for this platform: `python packaging/build.py`.

- every platform: PyInstaller with packaging/mapbrush.spec → dist/MapBrush/ (macOS: dist/MapBrush.app)
- Linux: dist/MapBrush-<version>-linux-<arch>.tar.gz (the folder + launcher, icons, MIME types, install.sh)
- Windows: dist/MapBrush-<version>-setup.exe via Inno Setup's ISCC and installer.iss (unless --no-installer)
- macOS: dist/MapBrush-<version>-macos-<arch>.dmg via hdiutil (unless --no-installer)
Prints the bundle size and the build time. Options: --dist DIR, --work DIR, --clean, --no-installer.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APP = "MapBrush"
APP_ID = "org.mapbrush.MapBrush"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from app import __version__

    return __version__


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run_pyinstaller(dist: Path, work: Path, *, clean: bool) -> Path:
    if not (HERE / "icons" / "mapbrush-512.png").exists() or not (HERE / "icons" / "mapbrush.ico").exists():
        subprocess.run([sys.executable, str(HERE / "make_icons.py")], check=True)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(HERE / "mapbrush.spec")]  # fmt: skip
    if clean:
        cmd.insert(3, "--clean")
    subprocess.run(cmd, check=True, cwd=ROOT)
    return dist / (f"{APP}.app" if sys.platform == "darwin" else APP)


def add_linux_desktop_files(bundle: Path) -> None:
    share = bundle / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    (share / "mime" / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "linux" / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    shutil.copy2(HERE / "linux" / f"{APP_ID}.xml", share / "mime" / "packages" / f"{APP_ID}.xml")
    for size in ICON_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HERE / "icons" / f"mapbrush-{size}.png", target / f"{APP_ID}.png")
    shutil.copy2(HERE / "linux" / "install.sh", bundle / "install.sh")
    os.chmod(bundle / "install.sh", 0o755)


def make_tarball(bundle: Path, dist: Path, ver: str) -> Path:
    out = dist / f"{APP}-{ver}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=APP)
    return out


def make_windows_installer(dist: Path) -> Path | None:
    iscc = shutil.which("ISCC") or shutil.which("iscc")
    for guess in (r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe", r"C:\Program Files\Inno Setup 6\ISCC.exe"):
        if not iscc and Path(guess).exists():
            iscc = guess
    if not iscc:
        print("ISCC (Inno Setup 6) not found: skipping the installer (choco install innosetup)", file=sys.stderr)
        return None
    subprocess.run([iscc, f"/DDistDir={dist}", f"/O{dist}", str(ROOT / "installer.iss")], check=True)
    return next(iter(sorted(dist.glob("*-setup.exe"))), None)


def make_dmg(app: Path, dist: Path, ver: str) -> Path:
    out = dist / f"{APP}-{ver}-macos-{platform.machine()}.dmg"
    out.unlink(missing_ok=True)
    subprocess.run(["hdiutil", "create", "-volname", APP, "-srcfolder", str(app), "-ov", "-format", "UDZO",
                    str(out)], check=True)  # fmt: skip
    return out


def build(dist: Path, work: Path, *, clean: bool = False, installer: bool = True) -> dict:
    ver = version()
    t0 = time.perf_counter()
    bundle = run_pyinstaller(dist, work, clean=clean)
    result = {"bundle": bundle, "version": ver}
    if sys.platform.startswith("linux"):
        from app.ui.platform_check import missing_libraries, qt_folder

        qt = qt_folder()  # PyInstaller bundles the X11 libraries it finds here; the missing ones users must install
        result["missing_x11"] = missing_libraries(qt) if qt else []
        add_linux_desktop_files(bundle)
        result["archive"] = make_tarball(bundle, dist, ver)
    elif sys.platform == "win32" and installer:
        result["archive"] = make_windows_installer(dist)
    elif sys.platform == "darwin" and installer:
        result["archive"] = make_dmg(bundle, dist, ver)
    result["seconds"] = time.perf_counter() - t0
    result["size"] = folder_size(bundle)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    p.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    p.add_argument("--no-installer", action="store_true", help="no Windows installer / macOS disk image")
    args = p.parse_args(argv)
    r = build(args.dist.resolve(), args.work.resolve(), clean=args.clean, installer=not args.no_installer)
    print(f"bundle   {r['bundle']}  {r['size'] / 1e6:.0f} MB")
    if r.get("archive"):
        print(f"archive  {r['archive']}  {r['archive'].stat().st_size / 1e6:.0f} MB")
    print(f"built MapBrush {r['version']} in {r['seconds']:.0f}s")
    if r.get("missing_x11"):
        print(f"warning: this machine lacks {', '.join(r['missing_x11'])}: the bundle does not carry them, so its "
              "window needs them installed on every computer (install them here and build again)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
