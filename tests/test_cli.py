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
    assert info["pictures"] == 0 and "pictures" not in text


def test_inspect_shows_the_default_title_and_subtitle_a_render_draws():
    from app.jobs.render import RenderRequest, load, titles_for

    for name, shape in (("harbour_hike.gpx", " km · ↑ "), ("harbour_town.geojson", "° N · ")):
        path = EXAMPLES / name
        title, subtitle = titles_for(RenderRequest([path]), load([path]))
        assert title and shape in subtitle  # a hike: its length and climb; a town: the centre's coordinates
        info = json.loads(run("inspect", path, "--json").stdout)
        assert (info["title"], info["subtitle"]) == (title, subtitle) and "place" not in info
        lines = run("inspect", path).stdout.splitlines()
        assert f"  title     {title}" in lines and f"  subtitle  {subtitle}" in lines


def test_inspect_counts_the_pictures_of_a_super_overlay(tmp_path):
    from tests.mapdata.kml_samples import super_overlay_kmz

    kmz = super_overlay_kmz(tmp_path / "survey.kmz")  # overlays only: the top tile and its 4 quarters, no placemarks
    info = json.loads(run("inspect", kmz, "--json").stdout)
    assert (info["features"], info["pictures"]) == (0, 5)
    lines = run("inspect", kmz).stdout.splitlines()
    assert "  features  0" in lines and any(line.startswith("  pictures  5 ") for line in lines)


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


# ----- usage errors: one line, exit 2, like every other input error ---------------------------------------------
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--size", "1600"], ["--size", "'1600'", "3000x2000", "mapbrush render --help"]),
        (["--size", "0x600"], ["--size", "positive"]),
        (["--seed", "abc"], ["--seed", "'abc'"]),
        (["--layers", "foo"], ["unknown layer 'foo'", "water, ", "buildings", "labels", "motorway"]),
        (["--hide", "water,nope,bogus"], ["'nope', 'bogus'"]),
        (["--engine", "magic"], ["--engine", "magic"]),
        (["--no-such-option"], ["--no-such-option"]),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, needles):
    proc = run("render", "--example", "-o", tmp_path / "x.png", *args)
    assert_one_line_error(proc, 2, *needles)
    assert "usage:" not in proc.stderr and not (tmp_path / "x.png").exists()


def test_unknown_command_and_missing_argument_are_one_line():
    assert_one_line_error(run("paint"), 2, "paint")
    assert_one_line_error(run("inspect"), 2, "files")


# ----- one layer vocabulary ---------------------------------------------------------------------------------------
def _render_json(tmp_path, *args):
    proc = run("render", "--example", "--size", "320x240", "--seed", "3", "-o", tmp_path / "l.png", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["metadata"]


def test_layers_by_their_readme_names(tmp_path):
    from app.mapdata.model import Kind

    meta = _render_json(tmp_path, "--layers", "water,roads")
    assert set(meta["kinds"]) == {"sea", "water", "waterway", "motorway", "primary", "secondary", "tertiary",
                                  "residential", "service", "path"}  # fmt: skip
    meta = _render_json(tmp_path, "--hide", "buildings,labels")
    assert set(meta["kinds"]) == {k.value for k in Kind} - {"building"} and meta["labels"] is False
    # singular, plural and Kind values mean the same
    singular = _render_json(tmp_path, "--hide", "building,track,park")
    plural = _render_json(tmp_path, "--hide", "Buildings,tracks,parks")
    assert singular["kinds"] == plural["kinds"] and "park" not in plural["kinds"] and "track" not in plural["kinds"]
    streets = _render_json(tmp_path, "--layers", "streets,motorway")
    assert "path" not in streets["kinds"] and "motorway" in streets["kinds"]
    assert streets["imagery"] is False and meta["imagery"] is True  # --layers draws pictures only when named
    pictures = _render_json(tmp_path, "--hide", "pictures")  # imagery's alias
    assert pictures["imagery"] is False and len(pictures["kinds"]) == len(Kind) and pictures["labels"] is True


def test_window_panel_styles_and_cli_share_the_layer_table():
    from app.mapdata.layers import GROUPS, PANEL, kinds_of
    from app.styles.canvas import GROUPS as STYLE_GROUPS
    from app.styles.canvas import selector_kinds
    from app.ui.composition import LAYER_GROUPS

    assert STYLE_GROUPS is GROUPS
    assert [n for n in LAYER_GROUPS if n not in ("imagery", "labels")] == [layer.name for layer in PANEL]
    seen: set = set()
    for layer in PANEL:  # each checkbox hides exactly its own kinds
        assert not (seen & set(layer.kinds)), layer.name
        seen |= set(layer.kinds)
        assert LAYER_GROUPS[layer.name] == frozenset(kinds_of(layer.name)) == frozenset(selector_kinds(layer.name))
    from app.mapdata.model import Kind

    assert seen == set(Kind)  # every kind can be switched off in the window


# ----- output checked before any work -----------------------------------------------------------------------------
def test_missing_output_folder_is_refused_before_reading(tmp_path):
    slow = tmp_path / "big.geojson"  # would fail to parse: the output must be refused first, before reading
    slow.write_text('{"type": "FeatureCollection", "features": [')
    proc = run("render", slow, "-o", tmp_path / "no" / "such" / "out.png")
    assert_one_line_error(proc, 2, "out.png", "folder to save into does not exist")


@pytest.mark.parametrize("name", ["out.gif", "out.tiff", "out"])
def test_output_format_mapbrush_cannot_write_is_refused(tmp_path, name):
    assert_one_line_error(run("render", "--example", "-o", tmp_path / name), 2, name, ".png, .jpg, .webp, .svg or .pdf")
    assert not (tmp_path / name).exists()


def test_output_folder_or_input_as_output_is_refused(tmp_path):
    assert_one_line_error(run("render", "--example", "-o", tmp_path), 2, "is a folder")
    town = tmp_path / "town.png"  # a GeoJSON under a picture's name: read by its content, never overwritten
    town.write_bytes((EXAMPLES / "harbour_town.geojson").read_bytes())
    assert_one_line_error(run("render", town, "-o", town), 2, "town.png", "overwrite an input")
    assert town.read_bytes() == (EXAMPLES / "harbour_town.geojson").read_bytes()


@pytest.mark.parametrize(("ext", "magic"), [(".jpg", b"\xff\xd8\xff"), (".jpeg", b"\xff\xd8\xff"), (".webp", b"RIFF")])
def test_jpeg_and_webp_are_real_and_carry_metadata(tmp_path, ext, magic):
    from PIL import Image

    out = tmp_path / f"harbour{ext}"
    proc = run("render", "--example", "--size", "320x240", "--seed", "5", "--dpi", "300", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(magic)
    with Image.open(out) as im:
        assert im.format == ("WEBP" if ext == ".webp" else "JPEG") and im.size == (320, 240)
        if ext != ".webp":
            assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
    proc = run("inspect", out, "--json")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)["mapbrush"]
    assert meta["seed"] == 5 and meta["size"] == [320, 240]
    assert [i["name"] for i in meta["inputs"]] == ["harbour_town.geojson", "harbour_hike.gpx"]


# ----- inspect and render treat folders, permissions and side files alike -----------------------------------------
def _error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    return proc.stderr.strip()


def test_inspect_and_render_refuse_a_folder_alike(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    for proc in (run("inspect", folder), run("render", folder, "-o", tmp_path / "x.png")):
        assert_one_line_error(proc, 2, str(folder), "is a folder, not a map file")


def _without_root_override(*args):
    """Run the CLI so that file permissions apply, also when the tests run as root (setpriv drops the override)."""
    import os
    import shutil

    cmd = [sys.executable, "-m", "app", *map(str, args)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        drop = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_unreadable_input_and_unwritable_folder(tmp_path):
    secret = tmp_path / "secret.gpx"
    secret.write_bytes((EXAMPLES / "harbour_hike.gpx").read_bytes())
    secret.chmod(0)
    inspect_line = _error_line(_without_root_override("inspect", secret))
    render_line = _error_line(_without_root_override("render", secret, "-o", tmp_path / "x.png"))
    assert inspect_line == render_line == f"mapbrush: error: {secret}: no permission to read this file"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    proc = _without_root_override("render", "--example", "-o", locked / "x.png")
    assert_one_line_error(proc, 2, "x.png", "cannot write into this folder")


def test_lone_shapefile_side_file_names_the_shp(tmp_path):
    data = ROOT / "tests" / "data" / "mapdata"
    for ext in (".shp", ".dbf"):
        (tmp_path / f"roads{ext}").write_bytes((data / f"zurich_utm{ext}").read_bytes())
    dbf = tmp_path / "roads.dbf"
    for proc in (run("inspect", dbf), run("render", dbf, "-o", tmp_path / "x.png")):
        assert_one_line_error(proc, 2, "roads.dbf", "open roads.shp (or the .zip) instead")


# ----- nothing but our own words on stderr ------------------------------------------------------------------------
def test_render_with_non_latin_names_prints_no_library_noise(tmp_path):
    names = tmp_path / "names.geojson"
    street = {"type": "LineString", "coordinates": [[44.78, 41.7], [44.81, 41.73]]}
    features = [
        ("თბილისი", {"place": "city"}, {"type": "Point", "coordinates": [44.79, 41.71]}),
        ("القاهرة", {"place": "town"}, {"type": "Point", "coordinates": [44.80, 41.72]}),
        ("東京 ☕ Ελλάδα", {"highway": "residential"}, street),
    ]
    names.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n, **tags}, "geometry": g} for n, tags, g in features
    ]}), encoding="utf-8")  # fmt: skip
    proc = run("render", names, "--size", "400x300", "--title", "თბილისი ☕ 東京", "-o", tmp_path / "n.png")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_render_paper_with_bleed_sizes_the_picture_and_records_the_paper(tmp_path):
    out = tmp_path / "a4.png"
    proc = run("render", "--example", "--paper", "A4", "--dpi", "40", "--bleed", "3mm", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    # A4 at 40 dpi: 331 × 468 px trim, 3 mm = 5 px of bleed on every side
    assert summary["metadata"]["size"] == [341, 478]
    paper = summary["metadata"]["paper"]
    assert paper["paper"] == "A4" and paper["bleed_mm"] == 3 and paper["trim_box"] == [5, 5, 336, 473]
    assert summary["metadata"]["margin"] > 0.06  # the margin grew by the bleed
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (341, 478)
        assert round(im.info["dpi"][0]) == 40
    inspected = json.loads(run("inspect", out, "--json").stdout)
    assert "A4" in json.dumps(inspected)


def test_render_paper_landscape_capped_sizes_the_request_and_warns_on_one_line():
    # in-process: a render at the 16384 px cap takes minutes here; the options and the warning are what matter
    from app.cli import build_parser, paper_of, render_request
    from app.jobs.render import MAX_SIDE

    args = build_parser().parse_args(["render", "--example", "--paper", "24x36in", "--landscape", "--dpi", "1200"])
    paper = paper_of(args)
    req = render_request(args, [])
    w, h = req.size
    assert w == MAX_SIDE > h and req.dpi == pytest.approx(MAX_SIDE / 36, abs=0.01) and req.dpi == round(paper.dpi, 2)
    warn = paper.warning()
    assert "\n" not in warn and warn.startswith("24×36 in at 1200 dpi is over 16384 px a side; rendered at 455.1 dpi")
    assert paper.metadata()["orientation"] == "landscape"


def test_render_paper_errors_are_one_line(tmp_path):
    out = tmp_path / "x.png"
    assert_one_line_error(run("render", "--example", "--paper", "A4", "--size", "800x600", "-o", out), 2, "--paper")
    assert_one_line_error(run("render", "--example", "--paper", "B7", "-o", out), 2, "unknown paper 'B7'")
    assert_one_line_error(run("render", "--example", "--paper", "A4", "--bleed", "lots", "-o", out), 2, "lots")
    assert_one_line_error(run("render", "--example", "--bleed", "3mm", "-o", out), 2, "--paper")
    assert not out.exists()
