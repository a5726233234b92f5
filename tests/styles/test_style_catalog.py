from pathlib import Path

import pytest

from app.errors import InputError
from app.mapdata.model import Kind
from app.paths import resource_root
from app.styles.catalog import get_style, load_styles

BUILTIN = {"watercolor", "parchment", "ink", "blueprint", "poster", "fantasy"}

MINIMAL = """
name = "{name}"
title = "Mine"
description = "a test style"
[palette]
paper = "#ffffff"
water = "#0000ff"
[[effects]]
name = "fill"
kinds = ["water"]
color = "water"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_styles_load_completely():
    styles = load_styles()
    assert set(styles) >= BUILTIN
    for name, style in styles.items():
        assert style.name == name
        assert style.title and style.description and style.effects
        assert "{map}" in style.prompt.template  # what the map is: a city, a hike, the world (app.jobs.ai)
        assert 0 <= style.prompt.creativity <= 1
        assert Path(style.source).is_file()


def test_builtin_fonts_exist():
    fonts = resource_root() / "fonts"
    for style in load_styles().values():
        for font in (style.typography.title_font, style.typography.label_font):
            assert (fonts / font).is_file(), f"{style.name}: {font}"


def test_builtin_values_are_parsed_into_the_model():
    poster = get_style("poster")
    assert poster.raster.width_scale > 1.5
    assert poster.raster.widths[Kind.MOTORWAY] == 9.0
    assert poster.typography.title_uppercase is True
    assert get_style("fantasy").typography.cartouche == "ornate"


def test_user_style_adds_and_overrides(tmp_path):
    write(tmp_path, "mine", MINIMAL.format(name="mine"))
    write(tmp_path, "ink", MINIMAL.format(name="ink").replace('title = "Mine"', 'title = "My ink"'))
    styles = load_styles(tmp_path)
    assert "mine" in styles and set(styles) >= BUILTIN
    assert styles["ink"].title == "My ink"
    assert styles["ink"].source == str(tmp_path / "ink.toml")
    assert get_style("mine", tmp_path).palette["water"] == "#0000ff"


def test_user_style_based_on_builtin_changes_only_what_it_lists(tmp_path):
    write(tmp_path, "dusk", 'base = "watercolor"\nname = "dusk"\ntitle = "Dusk"\n[palette]\nwater = "#203050"\n')
    dusk, water = load_styles(tmp_path)["dusk"], get_style("watercolor")
    assert dusk.palette["water"] == "#203050"
    assert dusk.palette["park"] == water.palette["park"]
    assert dusk.effects == water.effects


def test_unknown_style_lists_the_available_ones():
    with pytest.raises(InputError) as e:
        get_style("nope")
    assert "unknown style 'nope'" in e.value.message
    assert "watercolor" in e.value.message and "blueprint" in e.value.message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('water = "#0000ff"', 'water = "#zz0000"', "palette.water"),
        ('title = "Mine"\n', "", "title: missing"),
        ('title = "Mine"', 'title = "Mine"\ncolour = 3', "colour: unknown key"),
        ('name = "fill"', 'name = "sparkle"', "effects[0].name"),
        ('color = "water"', 'color = "water"\nsigma = 3', "effects[0].sigma: unknown parameter"),
        ('color = "water"', 'color = "sky"', "effects[0].color"),
        ('kinds = ["water"]', 'kinds = ["lava"]', "effects[0].kinds"),
        ('color = "water"', 'color = "water"\nopacity = "lots"', "effects[0].opacity"),
        ('color = "water"', 'color = "water"\nmode = "burn"', "effects[0].mode"),
        ("[palette]", '[typography]\ntitle_color = "red"\n[palette]', "typography.title_color"),
        ("[palette]", '[typography]\ncartouche = "fancy"\n[palette]', "typography.cartouche"),
        ("[palette]", '[typography]\ntitle_font = "Comic.ttf"\n[palette]', "typography.title_font"),
        ("[palette]", "[raster]\nwidth_scale = -1\n[palette]", "raster.width_scale"),
        ("[palette]", "[raster.widths]\nfreeway = 3\n[palette]", "raster.widths.freeway"),
        ("[palette]", "[prompt]\ncreativity = 2.0\n[palette]", "prompt.creativity"),
        ("[palette]", '[prompt]\ntemplate = "a map of {town}"\n[palette]', "prompt.template"),
        ('name = "mystyle"', 'name = "My Style"', "name:"),
        ("[palette]", "[palette]\nbroken = = 3", "not a valid TOML file"),
    ],
)
def test_invalid_style_names_file_and_field(tmp_path, old, new, field):
    assert old.format(name="mystyle") in MINIMAL.replace('"{name}"', '"mystyle"')
    path = write(tmp_path, "mystyle", MINIMAL.replace('"{name}"', '"mystyle"').replace(old.format(name="mystyle"), new))
    with pytest.raises(InputError) as e:
        load_styles(tmp_path)
    line = e.value.one_line()
    assert line.startswith(str(path) + ": ")
    assert field in line


def test_palette_error_reads_well(tmp_path):
    write(tmp_path, "mystyle", MINIMAL.format(name="mystyle").replace("#0000ff", "#zz0000"))
    with pytest.raises(InputError) as e:
        load_styles(tmp_path)
    assert e.value.message.startswith("palette.water: '#zz0000' is not a colour")


def test_broken_user_files_can_be_collected_instead_of_raised(tmp_path):
    write(tmp_path, "good", MINIMAL.format(name="good"))
    write(tmp_path, "bad", MINIMAL.format(name="bad").replace("#0000ff", "blue"))
    errors: list[InputError] = []
    styles = load_styles(tmp_path, errors=errors)
    assert "good" in styles and "bad" not in styles
    assert len(errors) == 1 and errors[0].path == str(tmp_path / "bad.toml")


def test_two_user_files_with_one_name_are_refused(tmp_path):
    write(tmp_path, "a", MINIMAL.format(name="same"))
    write(tmp_path, "b", MINIMAL.format(name="same"))
    with pytest.raises(InputError, match=r"also defined in a\.toml"):
        load_styles(tmp_path)
