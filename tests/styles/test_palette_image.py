"""Paint it like this picture (issue 16, procedural engine and preview stage): the palette of a picture, a style
saved from it, `render --style-image`, and the preview's palette transfer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.errors import InputError
from app.export.png import read_metadata
from app.styles.catalog import builtin_dir, get_style, load_styles
from app.styles.palette_image import (
    assign_roles,
    delta_e,
    extract_colours,
    hex_to_lab,
    rgb_to_lab,
    save_style,
    style_doc,
    style_from_image,
    transfer_palette,
)
from tests import legibility as lg

TOWN = builtin_dir().parent / "examples" / "harbour_town.geojson"
CREAM, BLUE, GREEN, BROWN = "#f2e6c8", "#3f7fbf", "#5a9a4a", "#4a2e1e"


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)


def painting(spec: list[tuple[str, float]], size=(400, 300), noise: float = 4.0, seed: int = 2) -> np.ndarray:
    """A picture of bands of `spec`'s colours (share of the width each), with a little brush noise."""
    w, h = size
    cols = np.concatenate([np.repeat(_rgb(c)[None], round(share * w), axis=0) for c, share in spec])[:w]
    img = np.repeat(cols[None], h, axis=0).astype(np.float64)
    img += np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _save(img: np.ndarray, path: Path) -> Path:
    Image.fromarray(img).save(path)
    return path


@pytest.fixture
def known(tmp_path) -> Path:
    return _save(painting([(CREAM, 0.6), (BLUE, 0.25), (GREEN, 0.10), (BROWN, 0.05)]), tmp_path / "known.png")


@pytest.fixture
def grey(tmp_path) -> Path:
    return _save(painting([("#808080", 1.0)], noise=6), tmp_path / "grey.jpg")


def test_known_colours_are_found_with_their_shares():
    colours = extract_colours(painting([(CREAM, 0.6), (BLUE, 0.25), (GREEN, 0.10), (BROWN, 0.05)]))
    for colour, share in [(CREAM, 0.6), (BLUE, 0.25), (GREEN, 0.10), (BROWN, 0.05)]:
        lab, got = min(colours, key=lambda cs: delta_e(cs[0], hex_to_lab(colour)))
        assert delta_e(lab, hex_to_lab(colour)) < 5, colour
        assert got == pytest.approx(share, abs=0.03), colour


def test_roles_of_a_picture_with_known_colours():
    """60% cream, 25% blue, 10% green, 5% dark brown: cream paper, blue water, green park, brown ink."""
    roles = assign_roles(extract_colours(painting([(CREAM, 0.6), (BLUE, 0.25), (GREEN, 0.10), (BROWN, 0.05)])))
    for role, colour in [("paper", CREAM), ("water", BLUE), ("park", GREEN), ("ink", BROWN)]:
        assert delta_e(hex_to_lab(roles[role]), hex_to_lab(colour)) < 5, (role, roles[role], colour)


def test_a_picture_without_blue_or_green_still_gives_cool_water_and_green_parks():
    roles = assign_roles(extract_colours(painting([("#ffc870", 0.5), ("#eb5a3c", 0.3), ("#461e50", 0.2)])))
    paper, water, park, ink = (hex_to_lab(roles[k]) for k in ("paper", "water", "park", "ink"))
    assert water[2] < paper[2] - 15  # bluer than the page
    assert park[1] < paper[1] - 10  # greener than the page
    assert abs(ink[0] - paper[0]) >= 30
    assert delta_e(water, hex_to_lab(roles["land"])) >= lg.LAND_SEA_DELTA_E


@pytest.mark.parametrize("style", sorted(p.stem for p in builtin_dir().glob("*.toml")))
def test_a_grey_picture_gives_a_legible_style(grey, tmp_path, style):
    """Grey has no ink, no water and no green of its own: the derived ones pass the legibility bars, in every
    builtin style (the line art of each at least as far from the paper as the bar asks)."""
    folder = tmp_path / "styles"
    save_style(style_doc(get_style(style), grey, name="grey"), folder)
    streets = lg.render_map([lg.write_street_grid(tmp_path / "streets.geojson")], "grey", user_styles_dir=folder)
    assert lg.line_contrast(streets) >= lg.LINE_CONTRAST
    for data in (lg.write_world(tmp_path / "world.geojson"), TOWN):
        result = lg.render_map([data], "grey", size=(800, 600), user_styles_dir=folder)
        assert lg.land_sea_difference(result) >= lg.LAND_SEA_DELTA_E, data.name


def test_the_saved_style_loads_through_the_catalog_and_renders(known, tmp_path):
    folder = tmp_path / "styles"
    path = save_style(style_doc(get_style("parchment"), known, name="known-parchment"), folder)
    assert path == folder / "known-parchment.toml"
    assert 'base = "parchment"' in path.read_text()
    style = load_styles(folder)["known-parchment"]
    assert delta_e(hex_to_lab(style.palette["sea"]), hex_to_lab(BLUE)) < 5
    assert style.effects == get_style("parchment").effects  # the base's look, only the colours changed
    plain = lg.render_map([TOWN], "parchment", size=(400, 300))
    mine = lg.render_map([TOWN], "known-parchment", size=(400, 300), user_styles_dir=folder)
    sea = mine.layers.masks[lg.WATER_KINDS[0]] == 255
    got = np.median(rgb_to_lab(mine.image[sea]), axis=0)
    assert delta_e(got, hex_to_lab(BLUE)) < delta_e(np.median(rgb_to_lab(plain.image[sea]), axis=0), hex_to_lab(BLUE))


def test_a_style_from_a_user_style_keeps_its_own_changes(known, tmp_path):
    folder = tmp_path / "styles"
    folder.mkdir()
    (folder / "mine.toml").write_text(
        'name = "mine"\nbase = "ink"\ntitle = "Mine"\ndescription = "Ink, bigger titles."\n'
        "[typography]\ntitle_size = 77\n"
    )
    doc = style_doc(get_style("mine", folder), known, name="mine-known")
    assert doc["base"] == "ink" and doc["typography"]["title_size"] == 77
    save_style(doc, folder)
    assert load_styles(folder)["mine-known"].typography.title_size == 77


def test_style_image_changes_the_picture_and_is_recorded(known, tmp_path):
    base = ["render", str(TOWN), "--size", "400x300", "--seed", "3", "--styles-dir", str(tmp_path / "none")]
    assert main([*base, "-o", str(tmp_path / "plain.png")]) == 0
    assert main([*base, "--style-image", str(known), "-o", str(tmp_path / "painted.png")]) == 0
    plain = np.asarray(Image.open(tmp_path / "plain.png").convert("RGB"), np.float64)
    mine = np.asarray(Image.open(tmp_path / "painted.png").convert("RGB"), np.float64)
    assert np.abs(plain - mine).mean() > 5
    meta = read_metadata(tmp_path / "painted.png")
    assert meta["style_image"]["name"] == "known.png"
    import hashlib

    assert meta["style_image"]["sha256"] == hashlib.sha256(known.read_bytes()).hexdigest()
    assert "style_image" not in read_metadata(tmp_path / "plain.png")


def test_styles_from_image_writes_the_toml_and_prints_its_path(known, tmp_path, capsys):
    folder = tmp_path / "styles"
    assert main(["styles", "from-image", str(known), "--name", "my-style", "--base", "ink", "--styles-dir",
                 str(folder)]) == 0  # fmt: skip
    out = capsys.readouterr().out.strip()
    assert Path(out) == folder / "my-style.toml" and Path(out).is_file()
    assert main(["styles", "--json", "--styles-dir", str(folder)]) == 0
    assert "my-style" in {s["name"] for s in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize("content", [b"not a picture at all", None])
def test_a_bad_style_image_is_one_line_naming_the_file(tmp_path, capsys, content):
    bad = tmp_path / "painting.jpg"
    if content is not None:
        bad.write_bytes(content)
    assert main(["styles", "from-image", str(bad), "--name", "x", "--styles-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "painting.jpg" in err and "Traceback" not in err
    assert main(["render", str(TOWN), "--style-image", str(bad), "-o", str(tmp_path / "o.png")]) == 2
    assert "painting.jpg" in capsys.readouterr().err
    with pytest.raises(InputError):
        style_from_image(get_style("ink"), bad)


def test_a_bad_style_name_is_refused_before_writing(known, tmp_path):
    with pytest.raises(InputError, match="not a style id"):
        save_style(style_doc(get_style("ink"), known, name="Not OK"), tmp_path)
    assert not list(tmp_path.glob("*.toml"))


def test_transfer_palette_moves_the_sketch_towards_the_image():
    sketch = lg.render_map([TOWN], "watercolor", size=(320, 240)).image
    sea = painting([("#1e5a8c", 0.6), ("#3c7846", 0.4)])
    out = transfer_palette(sketch, sea)
    src, dst, ref = (rgb_to_lab(a).reshape(-1, 3).mean(0) for a in (sketch, out, sea))
    assert delta_e(dst, ref) < 0.5 * delta_e(src, ref)
    assert out.shape == sketch.shape and out.dtype == np.uint8
    # lightness contrast is kept: the spread of L* does not shrink, and the ink stays as dark
    assert rgb_to_lab(out)[..., 0].std() >= 0.95 * rgb_to_lab(sketch)[..., 0].std()
    dark = rgb_to_lab(sketch)[..., 0] <= np.percentile(rgb_to_lab(sketch)[..., 0], 5)
    assert rgb_to_lab(out)[..., 0][dark].mean() <= rgb_to_lab(sketch)[..., 0][dark].mean() + 1
    assert np.array_equal(transfer_palette(sketch, sea, strength=0), sketch)


def test_a_dark_style_keeps_a_dark_page_in_a_light_pictures_colours(tmp_path):
    sunset = _save(painting([("#ffc870", 0.5), ("#eb5a3c", 0.3), ("#461e50", 0.2)]), tmp_path / "sunset.png")
    folder = tmp_path / "styles"
    save_style(style_doc(get_style("noir"), sunset, name="noir-sunset"), folder)
    style = load_styles(folder)["noir-sunset"]
    assert hex_to_lab(style.palette["paper"])[0] < 35
    streets = lg.render_map([lg.write_street_grid(tmp_path / "streets.geojson")], "noir-sunset", user_styles_dir=folder)
    assert lg.paper_lightness(streets) < 0.35 and lg.line_contrast(streets) >= lg.LINE_CONTRAST
    world = lg.render_map([lg.write_world(tmp_path / "world.geojson")], "noir-sunset", size=(800, 600),
                          user_styles_dir=folder)  # fmt: skip
    assert lg.land_sea_difference(world) >= lg.LAND_SEA_DELTA_E
