"""The command line as a person uses it: real processes, real exit codes, real files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def assert_one_line_error(proc, code, *needles):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mapbrush: error: ")
    for n in needles:
        assert n in lines[0]


def test_version_and_help():
    assert run("--version").stdout.strip() == f"mapbrush {__version__}"
    out = run("--help").stdout
    for cmd in ("render", "inspect", "styles"):
        assert cmd in out


def test_styles_lists_at_least_six_with_json():
    proc = run("styles", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {r["name"] for r in rows}
    assert {"watercolor", "parchment", "ink", "blueprint", "poster", "fantasy"} <= names
    assert all(r["description"] for r in rows)
    plain = run("styles").stdout.splitlines()
    assert len(plain) == len(rows)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "harbour.png"
    proc = run("render", "--example", "--style", "ink", "--size", "640x480", "--seed", "7", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_render_example_writes_png_with_metadata(rendered):
    out, summary = rendered
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["metadata"]["style"] == "ink"
    assert set(summary["timings"]) >= {"read", "compose", "rasterize", "paint", "finish", "export"}
    proc = run("inspect", out, "--json")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)["mapbrush"]
    assert meta["style"] == "ink" and meta["seed"] == 7 and meta["size"] == [640, 480]
    assert [i["name"] for i in meta["inputs"]] == ["harbour_town.geojson", "harbour_hike.gpx"]


def test_same_seed_gives_identical_png(rendered, tmp_path):
    out, _ = rendered
    again = tmp_path / "again.png"
    proc = run("render", "--example", "--style", "ink", "--size", "640x480", "--seed", "7", "-o", again)
    assert proc.returncode == 0, proc.stderr
    assert again.read_bytes() == out.read_bytes()


def test_inspect_map_file_counts_kinds():
    proc = run("inspect", EXAMPLES / "harbour_hike.gpx", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["format"] == "gpx"
    assert info["kinds"].get("track", 0) >= 1 and info["kinds"].get("poi", 0) >= 1
    text = run("inspect", EXAMPLES / "harbour_town.geojson").stdout
    assert "building" in text and "bounds" in text


def test_missing_file(tmp_path):
    assert_one_line_error(run("render", tmp_path / "nope.gpx", "-o", tmp_path / "x.png"), 2, "nope.gpx", "not found")


def test_unknown_format_names_the_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("just some text, not a map\n")
    assert_one_line_error(run("render", bad, "-o", tmp_path / "x.png"), 2, "notes.txt")
    assert not (tmp_path / "x.png").exists()


def test_unknown_style(tmp_path):
    proc = run("render", "--example", "--style", "nosuch", "-o", tmp_path / "x.png")
    assert_one_line_error(proc, 2, "nosuch")


def test_size_out_of_range(tmp_path):
    assert_one_line_error(run("render", "--example", "--size", "99999x10", "-o", tmp_path / "x.png"), 2, "size")


def test_existing_output_survives_a_failed_render(tmp_path):
    out = tmp_path / "keep.png"
    out.write_bytes(b"precious")
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    assert_one_line_error(run("render", bad, "-o", out), 2, "broken.geojson")
    assert out.read_bytes() == b"precious"


def test_install_ai_dry_run_says_what_and_how_much_before_anything_is_fetched(tmp_path):
    proc = run("models", "install-ai", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "Download: about" in proc.stdout and "torch" in proc.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "app", "models", "install-ai"], capture_output=True, text=True, cwd=ROOT,
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "--yes" in refused.stderr  # never downloads without being asked
