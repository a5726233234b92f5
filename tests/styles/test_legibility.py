"""Every style is legible: its line art stands off the paper on a street map, and its land and sea tell apart
on a world map and on a coastal town. Measured (tests/legibility.py) for every style the catalog lists,
the person's own styles from a folder included."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.styles.catalog import builtin_dir, load_styles
from tests import legibility as lg

TOWN = builtin_dir().parent / "examples" / "harbour_town.geojson"
LAND_SEA_SIZE = (800, 600)
# A person's styles: one a builtin with a tweak (red-brown casings on a browner page), one their own file.
USER_STYLES = {
    "parchment-dusk.toml": """
name = "parchment-dusk"
base = "parchment"
title = "Parchment at dusk"
description = "Parchment on a browner page, its streets cased in red-brown."
[palette]
paper = "#e8d5ad"
casing = "#4a1f10"
""",
    "harbour-chart.toml": """
name = "harbour-chart"
title = "Harbour chart"
description = "A plain chart: grey streets, blue sea."
[palette]
paper = "#fbfaf5"
ink = "#30343a"
sea = "#9ec3dc"
water = "#9ec3dc"
roads = "#6b7078"
[[effects]]
name = "fill"
kinds = ["water"]
color = "water"
[[effects]]
name = "fill"
kinds = ["roads"]
[[effects]]
name = "outline"
kinds = ["water"]
width = 1.0
""",
}
STYLES = [*sorted(p.stem for p in builtin_dir().glob("*.toml")), *sorted(Path(n).stem for n in USER_STYLES)]


def _write_styles(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("legibility")
    return {
        "streets": lg.write_street_grid(d / "streets.geojson"),
        "world": lg.write_world(d / "countries.geojson"),
        "town": TOWN,
        "user_styles": _write_styles(d / "styles", USER_STYLES),
    }


def test_every_style_the_catalog_lists_is_measured(data):
    assert sorted(load_styles(data["user_styles"])) == sorted(STYLES)


def test_the_data_is_what_the_measures_need(data):
    """The street map is only streets; the world's sea is composed around admin land; the town has a coast."""
    streets = lg.render_map([data["streets"]], "ink", size=(320, 240))
    assert {k.value for k in streets.layers.masks} == {"residential", "primary"}
    for name in ("world", "town"):
        land, sea = lg.land_and_sea(lg.render_map([data[name]], "poster", size=(320, 240)))
        assert land[0] > sea[0], name  # poster: light land, dark blue sea


@pytest.mark.parametrize("style", STYLES)
def test_line_art_stands_off_the_paper(data, style):
    result = lg.render_map([data["streets"]], style, user_styles_dir=data["user_styles"])
    contrast = lg.line_contrast(result)
    assert contrast >= lg.LINE_CONTRAST, f"{style}: streets differ from the paper by {contrast:.2f} L*/100"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("where", ["world", "town"])
def test_land_and_sea_tell_apart(data, style, where):
    result = lg.render_map([data[where]], style, size=LAND_SEA_SIZE, user_styles_dir=data["user_styles"])
    delta = lg.land_sea_difference(result)
    assert delta >= lg.LAND_SEA_DELTA_E, f"{style} on the {where} map: land and sea ΔE {delta:.1f}"


def test_the_measures_catch_an_illegible_user_style(data, tmp_path):
    """A tweak of a builtin that puts paper-coloured casings on the streets and paints the sea like the land
    fails both measures: they measure the picture, not the style's name."""
    folder = _write_styles(tmp_path / "styles", {"washed-out.toml": """
name = "washed-out"
base = "parchment"
title = "Washed out"
description = "Parchment whose streets and sea vanish."
[palette]
casing = "#e6d6b4"
sea = "#e4cf9e"
water = "#e4cf9e"
waterway = "#e4cf9e"
"""})  # fmt: skip
    streets = lg.render_map([data["streets"]], "washed-out", user_styles_dir=folder)
    assert lg.line_contrast(streets) < lg.LINE_CONTRAST
    world = lg.render_map([data["world"]], "washed-out", size=LAND_SEA_SIZE, user_styles_dir=folder)
    assert lg.land_sea_difference(world) < lg.LAND_SEA_DELTA_E
