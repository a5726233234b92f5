"""Smoke tests of THE FROZEN EXECUTABLES (PyInstaller bundle), built once per session (~1 minute).

Plain `pytest` runs them (marked slow, not deselected); they skip only without PyInstaller."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from app import __version__
from app.export.png import read_metadata

from .conftest import exe

pytestmark = pytest.mark.slow

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="59.0" lon="10.0"><name>&lol5;</name></wpt>
</gpx>
"""


def run(args, cwd, timeout=120, **env):
    full_env = {**os.environ, **env}
    full_env.pop("PYTHONPATH", None)  # the bundle must need nothing from this checkout
    return subprocess.run([str(a) for a in args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_version(bundle, tmp_path):
    r = run([exe(bundle, "mapbrush"), "--version"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"mapbrush {__version__}"


def test_render_example_to_png_with_metadata(bundle, tmp_path):
    r = run([exe(bundle, "mapbrush"), "render", "--example", "--size", "640x480", "-o", "out.png"], tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.png"
    meta = read_metadata(out)
    assert meta["app"] == "mapbrush" and meta["version"] == __version__
    assert meta["size"] == [640, 480] and meta["engine"] == "procedural"
    assert [i["format"] for i in meta["inputs"]] == ["geojson", "gpx"]  # GDAL drivers in the bundle
    with Image.open(out) as im:
        assert im.size == (640, 480)
        pixels = np.asarray(im.convert("RGB"), dtype=np.int16)
    assert pixels.std() > 10  # a painted map, not a blank page


def test_projected_shapefile_uses_bundled_gdal_and_proj_data(bundle, tmp_path):
    """A UTM shapefile: GDAL reads the .prj with its proj.db, pyproj reprojects with its own."""
    import shapely
    from pyogrio.raw import write

    pts = shapely.points(np.array([[500000.0 + 100 * i, 6500000.0 + 50 * i] for i in range(5)]))
    names = np.array(["a", "b", "c", "d", "e"], dtype=object)
    write(tmp_path / "utm.shp", shapely.to_wkb(pts), field_data=[names], fields=["name"], geometry_type="Point",
          crs="EPSG:32632")  # fmt: skip
    r = run([exe(bundle, "mapbrush"), "inspect", "--json", "utm.shp"], tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["crs"] == "EPSG:32632"
    west, south, east, north = info["bounds"]
    assert 8.99 < west < east < 9.01 and 58.6 < south < north < 58.7  # UTM 32N easting 500 km = 9°E


def test_entity_bomb_is_refused_with_exit_2(bundle, tmp_path):
    (tmp_path / "bomb.gpx").write_text(BOMB, encoding="utf-8")
    r = run([exe(bundle, "mapbrush"), "render", "bomb.gpx", "-o", "b.png"], tmp_path, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "bomb.gpx" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b.png").exists()


def test_window_screenshot_offscreen(bundle, tmp_path):
    example = bundle / "_internal" / "resources" / "examples" / "harbour_town.geojson"
    if not example.exists():  # macOS keeps data in Contents/Resources
        example = next(bundle.parent.rglob("harbour_town.geojson"))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    r = subprocess.run([str(exe(bundle, "MapBrush")), str(example), "--screenshot", "shot.png"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "shot.png") as im:
        assert im.width >= 800 and im.height >= 500
        pixels = np.asarray(im.convert("RGB"), dtype=np.int16)
    assert pixels.std() > 10


def test_bundle_has_no_ai_stack_and_finds_a_managed_runtime(bundle, tmp_path, monkeypatch):
    """No torch inside; a finished AI runtime under the user data dir is found at start-up."""
    internal = bundle / "_internal"
    if internal.is_dir():
        for name in ("torch", "diffusers", "transformers", "accelerate", "matplotlib", "pandas", "tkinter"):
            assert not (internal / name).exists(), name
    data = tmp_path / "data"
    r = run([exe(bundle, "mapbrush"), "doctor", "--json"], tmp_path, MAPBRUSH_DATA_DIR=str(data))
    assert r.returncode == 0, r.stderr
    assert "not installed" in json.loads(r.stdout)["facts"]["PyTorch"]
    # A stand-in runtime: torch/version.py is all `doctor` reads (it never imports torch).
    from app.models import runtime

    monkeypatch.setenv("MAPBRUSH_DATA_DIR", str(data))
    target = runtime.runtime_dir()  # the bundle runs this same Python version
    (target / "site-packages" / "torch").mkdir(parents=True)
    (target / "site-packages" / "torch" / "__init__.py").write_text("raise ImportError('stand-in')\n")
    (target / "site-packages" / "torch" / "version.py").write_text("__version__ = '9.9.9+cpu'\ncuda = None\n")
    (target / runtime.MARKER).write_text("{}")
    r = run([exe(bundle, "mapbrush"), "doctor", "--json"], tmp_path, MAPBRUSH_DATA_DIR=str(data))
    assert r.returncode == 0, r.stderr
    assert "9.9.9" in json.loads(r.stdout)["facts"]["PyTorch"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux archive")
def test_linux_archive_installs_without_root(frozen_build, tmp_path):
    archive = frozen_build["archive"]
    if archive is None:
        pytest.skip("a prebuilt bundle was given (MAPBRUSH_FROZEN_BUNDLE): no archive")
    assert archive.name.startswith(f"MapBrush-{__version__}-linux-") and archive.name.endswith(".tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "unpacked", filter="tar")
    desktop = "MapBrush/share/applications/org.mapbrush.MapBrush.desktop"
    assert {"MapBrush/MapBrush", "MapBrush/mapbrush", "MapBrush/install.sh", desktop} <= names
    assert "MapBrush/share/icons/hicolor/512x512/apps/org.mapbrush.MapBrush.png" in names
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(["desktop-file-validate", str(tmp_path / "unpacked" / desktop)], capture_output=True,
                           text=True)  # fmt: skip
        assert v.returncode == 0, v.stdout + v.stderr
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    r = subprocess.run(["sh", str(tmp_path / "unpacked" / "MapBrush" / "install.sh")], env=env, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    share = home / ".local" / "share"
    launcher = (share / "applications" / "org.mapbrush.MapBrush.desktop").read_text()
    assert f'Exec="{share}/MapBrush/MapBrush" %F' in launcher
    assert (share / "icons" / "hicolor" / "48x48" / "apps" / "org.mapbrush.MapBrush.png").is_file()
    assert (share / "mime" / "packages" / "org.mapbrush.MapBrush.xml").is_file()
    v = subprocess.run([str(home / ".local" / "bin" / "mapbrush"), "--version"], capture_output=True, text=True)
    assert v.stdout.strip() == f"mapbrush {__version__}"


def test_frozen_app_can_install_the_ai_engines_with_its_bundled_uv(bundle, tmp_path):
    """First-run AI install: the frozen app has no pip, so it carries uv; the dry run names both."""
    r = run([exe(bundle, "mapbrush"), "models", "install-ai", "--dry-run"], tmp_path, timeout=60,
            MAPBRUSH_DATA_DIR=str(tmp_path / "data"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Download: about" in r.stdout and "torch" in r.stdout
    installer = next(line for line in r.stdout.splitlines() if line.startswith("installer: "))
    uv = installer.split()[1]
    assert os.path.basename(uv) in ("uv", "uv.exe") and os.path.realpath(uv).startswith(os.path.realpath(bundle))
    assert subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30).returncode == 0
