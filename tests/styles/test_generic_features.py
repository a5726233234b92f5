"""Data without OSM-like tags (a country outline, census block groups, a drawn route, plain points, Natural
Earth-like countries) is painted in every style, reads as distinct areas, and titles the map when it is its subject."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from app.errors import InputError
from app.jobs.render import RenderRequest, load, render
from app.mapdata.classify import feature_name
from app.mapdata.model import Kind, MapData
from app.styles.catalog import load_styles
from tests import generic_data as gd
from tests.visibility import assert_visible, border_contrast, render_with_and_without

STYLES = sorted(load_styles())
WRITERS = {
    "country.geojson": gd.write_country_geojson,
    "tl_2023_06_bg.zip": gd.write_census_zip,
    "route.geojson": gd.write_route_geojson,
    "sites.geojson": gd.write_points_geojson,
    "countries.geojson": gd.write_countries_geojson,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("generic")
    return {name: write(d / name) for name, write in WRITERS.items()}


def test_the_files_hold_only_generic_features(files):
    """What the painting tests rely on: none of these files has map tags (countries are admin areas)."""
    for name, path in files.items():
        kinds = set(load([path]).kinds)
        assert kinds == ({Kind.ADMIN} if name == "countries.geojson" else {Kind.OTHER}), name


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", list(WRITERS))
def test_generic_data_is_visible_in_every_style(files, name, style):
    assert_visible([files[name]], style, threshold=15.0, changed=0.6)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("name", "kind"), [("tl_2023_06_bg.zip", Kind.OTHER), ("countries.geojson", Kind.ADMIN)])
def test_adjacent_areas_are_outlined_apart(files, name, kind, style):
    """The edges neighbours share stand out from both sides (a union of the areas would show none)."""
    shown = render_with_and_without([files[name]], style).shown
    contrast = border_contrast(shown, {kind})
    assert len(contrast) > 50
    assert np.median(contrast) > 14, f"{style}: median contrast {np.median(contrast):.1f} across shared edges"
    assert np.percentile(contrast, 10) > 6, f"{style}: faint stretches of border"


@pytest.mark.parametrize("style", ["watercolor", "poster", "noir"])
def test_neighbours_get_different_tints(files, style):
    """Adjacent census blocks are tinted apart: the blocks' median colours are not all alike."""
    shown = render_with_and_without([files["tl_2023_06_bg.zip"]], style).shown
    tones = shown.layers.tones
    assert tones is not None and len(np.unique(tones[tones > 0])) >= 2
    medians = np.array([np.median(shown.image[tones == t], axis=0) for t in np.unique(tones[tones > 0])])
    spread = np.abs(medians[:, None, :].astype(float) - medians[None, :, :]).sum(axis=2).max()
    assert spread > 12, f"{style}: the tone classes look alike ({spread:.0f})"


def test_the_subject_names_the_map(files):
    result = render(RenderRequest([files["country.geojson"]], style="poster", size=(480, 360), seed=3))
    assert result.metadata["title"] == "Iceland"
    # Labelled once: by the title, not a second time across the island.
    from app.render.overlay import layout_overlay
    from app.styles.catalog import get_style

    typo = get_style("poster").typography
    layout = layout_overlay(result.scene, typo, image=result.layers.structure)
    assert layout.cartouche is not None
    assert not [lb for lb in layout.labels if lb.text.casefold() == "iceland"]
    untitled = render(RenderRequest([files["country.geojson"]], style="poster", size=(480, 360), seed=3, title=""))
    layout = layout_overlay(untitled.scene, typo, image=untitled.layers.structure)
    assert [lb.text for lb in layout.labels] == ["Iceland"]


def test_census_blocks_are_labelled_but_do_not_title_the_map(files):
    result = render(RenderRequest([files["tl_2023_06_bg.zip"]], style="ink", size=(960, 720), seed=3))
    data = load([files["tl_2023_06_bg.zip"]])
    assert data.names[0] == "Block Group 1" and data.subject_name() is None
    assert not (result.metadata["title"] or "").startswith("Block Group")  # never one block's name
    from app.render.labels import place_labels
    from app.styles.catalog import get_style

    labels = place_labels(result.scene, get_style("ink").typography)
    assert sum(lb.text.startswith("Block Group") for lb in labels) >= 6


def test_named_plain_points_are_labelled(tmp_path):
    path = tmp_path / "sites.geojson"
    gd.write_points_geojson(path)
    text = path.read_text().replace('"id": 1,', '"id": 1, "label": "Well 1",')
    path.write_text(text)
    result = render(RenderRequest([path], style="ink", size=(960, 720), seed=3))
    from app.render.labels import place_labels
    from app.styles.catalog import get_style

    labels = place_labels(result.scene, get_style("ink").typography)
    assert [lb.text for lb in labels] == ["Well 1"] and labels[0].marker is not None


# ---------------------------------------------------------------- the subject's name


def _data(items, kinds=None) -> MapData:
    geoms, names = zip(*items)
    return MapData.from_lists(geoms, kinds or [Kind.OTHER] * len(geoms), names)


def test_subject_name_needs_half_the_area():
    big, small = shapely.box(0, 0, 4, 4), shapely.box(4, 0, 5, 1)
    assert _data([(big, "Big"), (small, "Small")]).subject_name() == "Big"
    assert _data([(shapely.box(0, 0, 1, 1), "A"), (shapely.box(1, 0, 2, 1), "B"), (small, "C")]).subject_name() is None
    # A country of many islands: its parts count together.
    isles = [(shapely.box(i * 2, 0, i * 2 + 1, 1), "Archipelago") for i in range(4)] + [(shapely.box(9, 0, 11, 1), "X")]
    assert _data(isles).subject_name() == "Archipelago"


def test_subject_name_ignores_unnamed_and_tagged_areas():
    assert _data([(shapely.box(0, 0, 4, 4), None), (shapely.box(4, 0, 5, 1), "Small")]).subject_name() is None
    park = _data([(shapely.box(0, 0, 4, 4), "Kings Park")], [Kind.PARK])
    assert park.subject_name() is None and park.place_name() is None


def test_place_nodes_come_before_the_subject():
    data = MapData.from_lists(
        [shapely.box(0, 0, 4, 4), shapely.Point(1, 1)],
        [Kind.ADMIN, Kind.PLACE],
        ["Region", "Capital"],
        [{}, {"place": "city"}],
    )
    assert data.place_name() == "Capital"
    assert data.select(np.array([True, False])).place_name() == "Region"


def test_subject_name_of_lines_and_lone_features():
    route = _data([(shapely.LineString([(0, 0), (5, 0)]), "Alpine Pass"), (shapely.LineString([(0, 1), (1, 1)]), None)])
    assert route.subject_name() == "Alpine Pass"
    assert _data([(shapely.Point(0, 0), "Summit")]).subject_name() == "Summit"
    assert _data([(shapely.Point(0, 0), "A"), (shapely.Point(1, 1), "B")]).subject_name() is None


def test_countries_file_has_no_subject(files):
    assert load([files["countries.geojson"]]).place_name() is None


@pytest.mark.parametrize(
    ("props", "name"),
    [
        ({"GEOID": "060014022001", "NAMELSAD": "Block Group 1"}, "Block Group 1"),
        ({"NAME": "1", "NAMELSAD": "Block Group 1"}, "1"),
        ({"GID_1": "AUT.1_1", "NAME_0": "Austria", "NAME_1": "Burgenland"}, "Burgenland"),
        ({"nAmE": "Odd Case"}, "Odd Case"),
        ({"TITLE": "My Walk"}, "My Walk"),
        ({"Label": "Site A"}, "Site A"),
        ({"id": 3, "value": 1.5}, None),
    ],
)
def test_name_like_properties(props, name):
    assert feature_name(props) == name


# ---------------------------------------------------------------- style files


def test_a_user_style_without_generic_effects_gets_the_default(tmp_path, files):
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "plain.toml").write_text(
        'name = "plain"\ntitle = "Plain"\ndescription = "d"\n[palette]\npaper = "#ffffff"\nink = "#203040"\n'
        '[[effects]]\nname = "fill"\nkinds = ["water"]\ncolor = "#0000ff"\n'
    )
    style = load_styles(styles)["plain"]
    assert {"area", "area_line", "mark"} <= set(style.palette)
    assert [e.name for e in style.effects] == ["fill", "patchwork", "outline", "fill", "fill"]
    req = RenderRequest([files["tl_2023_06_bg.zip"]], style="plain", size=(480, 360), seed=1, title="", labels=False,
                        scale_bar=False, north_arrow=False, user_styles_dir=styles)  # fmt: skip
    image = render(req).image
    assert (np.abs(image.astype(int) - 255).sum(axis=2) > 20).mean() > 0.3


def test_a_style_that_paints_other_keeps_its_own_chain(tmp_path):
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "mine.toml").write_text(
        'name = "mine"\ntitle = "Mine"\ndescription = "d"\n[palette]\npaper = "#ffffff"\n'
        '[[effects]]\nname = "fill"\nkinds = ["other"]\ncolor = "#ff0000"\n'
    )
    style = load_styles(styles)["mine"]
    assert [e.name for e in style.effects] == ["fill"] and "area" not in style.palette


def test_fill_without_a_colour_paints_marks_and_derived_selections(tmp_path, files):
    """`fill` with no colour gives each kind its palette colour; over "all", "land" and "marks" too."""
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "bare.toml").write_text(
        'name = "bare"\ntitle = "Bare"\ndescription = "d"\n[palette]\npaper = "#ffffff"\nink = "#102030"\n'
        'other = "#c0a080"\n[[effects]]\nname = "fill"\nkinds = ["all", "land"]\n[[effects]]\nname = "fill"\n'
        'kinds = ["marks"]\n'
    )
    for name in ("route.geojson", "country.geojson"):
        assert_visible([files[name]], "bare", threshold=15.0, changed=0.6, user_styles_dir=styles)


def test_outline_source_is_validated(tmp_path):
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "bad.toml").write_text(
        'name = "bad"\ntitle = "Bad"\ndescription = "d"\n[palette]\npaper = "#ffffff"\n'
        '[[effects]]\nname = "outline"\nkinds = ["other"]\nsource = "edges"\n'
    )
    with pytest.raises(InputError, match=r"source.*mask, lineart, borders"):
        load_styles(styles)
