"""SVG and PDF export: named layer groups, text kept as text, fonts embedded, and vector layers that land where
the raster render paints them (the documents rasterized by poppler and librsvg, compared with the PNG)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import defusedxml.ElementTree as SafeET
import numpy as np
import pytest
from PIL import Image

from app.cli import example_inputs
from app.export.formats import write_image
from app.export.vector import write_vector
from app.export.vector_parts import vector_parts
from app.jobs.render import RenderRequest, render_to_file
from app.styles.catalog import get_style

SVG = "{http://www.w3.org/2000/svg}"
SIZE = (640, 480)
ROOT = Path(__file__).resolve().parents[2]


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install poppler-utils librsvg2-bin)")


@pytest.fixture(scope="module", params=["watercolor", "ink"])
def made(request, tmp_path_factory):
    """One render of the example town per style: the SVG through render_to_file, the PNG, the PDF and the plain
    documents from the same result."""
    style = request.param
    d = tmp_path_factory.mktemp(f"vector-{style}")
    req = RenderRequest(inputs=example_inputs(), style=style, size=SIZE, seed=3)
    result = render_to_file(req, d / "map.svg")
    write_image(d / "map.png", result.image, result.metadata)
    st = get_style(style)
    write_vector(d / "map.pdf", vector_parts(result, st), SIZE, result.metadata)
    plain = vector_parts(result, st, plain=True)
    write_vector(d / "plain.pdf", plain, SIZE, result.metadata)
    write_vector(d / "plain.svg", plain, SIZE, result.metadata)
    return d, result, st


def _groups(path: Path) -> dict[str, object]:
    root = SafeET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return {g.get("id"): g for g in root.findall(f"{SVG}g")}


def _text(group) -> str:
    return "".join((t.text or "").strip() for t in group.iter(f"{SVG}text") if t.get("fill") != "none")


def test_svg_groups_are_named_by_layer_with_paths_and_text(made):
    d, result, _ = made
    groups = _groups(d / "map.svg")
    order = list(groups)
    for name in ("painting", "water", "roads", "rail", "tracks", "labels", "title", "scale_bar"):
        assert name in groups, order
    assert order.index("painting") < order.index("roads") < order.index("labels") < order.index("title")
    assert groups["painting"].find(f".//{SVG}image") is not None  # the style's washes and paper, as a picture
    roads = [p.get("d") for p in groups["roads"].iter(f"{SVG}path")]
    assert roads and sum(len(p or "") for p in roads) > 1000
    assert len(list(groups["labels"].iter(f"{SVG}text"))) > 20
    assert result.scene.title and result.scene.title.replace(" ", "") in _text(groups["title"]).replace(" ", "")
    # Every id skia gave a clip or an image is unique across the stitched parts, and every reference resolves.
    root = SafeET.parse(d / "map.svg").getroot()
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    refs = [v[1:] for e in root.iter() for k, v in e.attrib.items() if k.endswith("href") and v.startswith("#")]
    assert refs and set(refs) <= set(ids)


def test_plain_svg_draws_every_layer_as_vector(made):
    d, _, _ = made
    groups = _groups(d / "plain.svg")
    assert "painting" not in groups and "paper" in groups
    assert SafeET.parse(d / "plain.svg").getroot().find(f".//{SVG}image") is None
    for name in ("green", "water", "buildings", "roads"):
        assert any(p.get("d") for p in groups[name].iter(f"{SVG}path")), name


def test_pdf_keeps_text_as_text_in_embedded_fonts(made):
    _need("pdftotext")
    d, result, _ = made
    pdf = d / "map.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert result.scene.title in text
    fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and any("TrueType" in f for f in fonts)
    assert all(f.split()[-5] == "yes" for f in fonts), fonts  # the "emb" column


def _raster_pdf(pdf: Path, out: Path) -> np.ndarray:
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", pdf, out.with_suffix("")], check=True)
    return np.asarray(Image.open(out).convert("L"), np.float64)


def _raster_svg(svg: Path, out: Path) -> np.ndarray:
    subprocess.run(["rsvg-convert", "-w", str(SIZE[0]), "-h", str(SIZE[1]), svg, "-o", out], check=True)
    return np.asarray(Image.open(out).convert("L"), np.float64)


def _small(a: np.ndarray, k: int = 4) -> np.ndarray:
    h, w = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    return a[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def _corr(a: np.ndarray, b: np.ndarray, k: int = 4) -> float:
    return float(np.corrcoef(_small(a, k).ravel(), _small(b, k).ravel())[0, 1])


@pytest.mark.parametrize("doc", ["map.pdf", "plain.pdf", "map.svg", "plain.svg"])
def test_vector_layers_land_where_the_raster_paints_them(made, doc):
    d, _, _ = made
    _need("pdftoppm" if doc.endswith(".pdf") else "rsvg-convert")
    png = np.asarray(Image.open(d / "map.png").convert("L"), np.float64)
    path = d / doc
    vec = (_raster_pdf if doc.endswith(".pdf") else _raster_svg)(path, d / f"{path.stem}-{path.suffix[1:]}.png")
    assert vec.shape == png.shape
    same = _corr(vec, png)
    # Plain documents leave out the style's textures (stipple, hatching, grain): they match less closely.
    assert same > (0.9 if doc.startswith("map") else 0.75), same
    # The comparison sees placement: the same document shifted by 6 px matches markedly worse.
    shifted = _corr(np.roll(vec, (6, 6), axis=(0, 1)), png)
    assert shifted < same - 0.05, (same, shifted)


def test_painted_document_draws_the_line_work_the_painting_leaves_out(made):
    """The painting alone lacks the roads, rails and tracks; with the vector parts on it the page matches the PNG
    markedly better."""
    _need("pdftoppm")
    d, result, st = made
    parts = vector_parts(result, st)
    write_vector(d / "ground.pdf", [p for p in parts if p.id == "painting"], SIZE, result.metadata)
    png = np.asarray(Image.open(d / "map.png").convert("L"), np.float64)
    full = _raster_pdf(d / "map.pdf", d / "full-check.png")
    ground = _raster_pdf(d / "ground.pdf", d / "ground-check.png")
    with_lines, without = _corr(full, png, 2), _corr(ground, png, 2)
    assert with_lines > without + 0.05, (with_lines, without)


def test_ai_picture_goes_in_at_full_resolution_under_vector_text(made, tmp_path):
    _need("pdfimages")
    _, result, st = made
    picture = np.ascontiguousarray(255 - result.sketch)  # a stand-in for the AI stage's picture (any HxWx3)
    ai = replace(result, engine="preview", stages={**result.stages, "preview": picture})
    parts = vector_parts(ai, st)
    assert [p.id for p in parts][:2] == ["painting", "labels"]  # no data layers over the AI picture
    write_vector(tmp_path / "ai.pdf", parts, SIZE, result.metadata, dpi=300)
    listing = subprocess.run(["pdfimages", "-list", tmp_path / "ai.pdf"], capture_output=True, text=True, check=True)
    rows = [r.split() for r in listing.stdout.splitlines()[2:]]
    assert any(r[3:5] == [str(SIZE[0]), str(SIZE[1])] for r in rows), listing.stdout
    text = subprocess.run(["pdftotext", tmp_path / "ai.pdf", "-"], capture_output=True, text=True).stdout
    assert result.scene.title in text
    info = subprocess.run(["pdfinfo", tmp_path / "ai.pdf"], capture_output=True, text=True).stdout
    w_pt, h_pt = SIZE[0] * 72 / 300, SIZE[1] * 72 / 300  # --dpi sets the page's print size
    assert f"{w_pt:g} x {h_pt:g} pts" in info, info


def test_picture_alone_written_as_svg_and_pdf(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, 30:] = (200, 40, 10)
    write_image(tmp_path / "pic.svg", rgb, {"title": "Swatch"})
    write_image(tmp_path / "pic.pdf", rgb, {"title": "Swatch"})
    root = SafeET.parse(tmp_path / "pic.svg").getroot()
    assert root.get("viewBox") == "0 0 60 40" and root.find(f".//{SVG}image") is not None
    assert (tmp_path / "pic.pdf").read_bytes()[:5] == b"%PDF-"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)  # fmt: skip


def test_cli_vector_options_refused_where_they_do_not_apply(tmp_path):
    proc = _cli("render", "--example", "-o", tmp_path / "a.png", "--vector-plain")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--vector-plain is for .svg and .pdf" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.png").exists()
