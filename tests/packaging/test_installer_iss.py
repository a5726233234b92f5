"""installer.iss agrees with the PyInstaller spec, the version and the fixed AppId (fast, no build)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app import __version__

ROOT = Path(__file__).resolve().parents[2]
ISS = (ROOT / "installer.iss").read_text(encoding="utf-8")
SPEC = (ROOT / "packaging" / "mapbrush.spec").read_text(encoding="utf-8")
APP_ID = "{{A7517E37-EFB2-41F4-8933-E63F09C18D4B}"  # never change: Windows finds earlier installs by it


def define(name: str) -> str:
    m = re.search(rf'^#define {name} "([^"]*)"', ISS, re.M)
    assert m, f"installer.iss has no #define {name}"
    return m.group(1)


def setup(key: str) -> str:
    m = re.search(rf"^{key}=(.*)$", ISS, re.M)
    assert m, f"installer.iss [Setup] has no {key}"
    return m.group(1).strip()


def spec_names() -> tuple[str, str]:
    """(the window / folder name, the console name on Windows) as the spec builds them."""
    app = re.search(r'^APP = "([^"]+)"', SPEC, re.M).group(1)
    cli = re.search(r'^CLI = "[^"]+" if sys\.platform\.startswith\("linux"\) else "([^"]+)"', SPEC, re.M).group(1)
    assert re.search(r"COLLECT\(.*name=APP\)", SPEC), "the COLLECT folder is not named APP"
    return app, cli


def test_installs_what_the_build_produces():
    app, cli = spec_names()
    assert define("BundleDir") == app
    assert define("AppExe") == f"{app}.exe"
    assert define("CliExe") == f"{cli}.exe"
    sources = re.findall(r'^Source: "([^"]+)"', ISS, re.M)
    assert sources == ["{#DistDir}\\{#BundleDir}\\*"]
    # Every shortcut and command points at the window executable inside {app}.
    targets = set(re.findall(r'\{app\}\\([^",\s]+)', ISS))
    assert targets == {"{#AppExe}"}
    assert (ROOT / setup("SetupIconFile").replace("\\", "/")).is_file()


def test_version_matches_the_app_and_pyproject():
    assert define("AppVersion") == __version__
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.__version__"}
    assert setup("VersionInfoVersion") == "{#AppVersion}.0"


def test_appid_is_the_fixed_one_and_install_is_per_user():
    assert setup("AppId") == APP_ID
    assert setup("PrivilegesRequired") == "lowest"


def test_file_types_match_the_linux_launcher():
    progids = set(re.findall(r'Subkey: "Software\\Classes\\(\.[a-z]+)\\OpenWithProgids"', ISS))
    assert progids == {".gpx", ".kml", ".kmz", ".geojson", ".osm", ".pbf"}
    desktop = (ROOT / "packaging" / "linux" / "org.mapbrush.MapBrush.desktop").read_text(encoding="utf-8")
    mime = re.search(r"^MimeType=(.*)$", desktop, re.M).group(1).rstrip(";").split(";")
    assert "application/gpx+xml" in mime and "application/x-osm-pbf" in mime and len(mime) == 7


def test_uninstaller_keeps_user_data_unless_asked():
    assert "RemoveData := False;" in ISS
    assert "if (CurUninstallStep = usPostUninstall) and RemoveData then" in ISS
    assert "UninstallSilent()" in ISS  # a silent uninstall never deletes models
