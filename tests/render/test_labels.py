"""The label engine's cartographic priorities, on a Helsinki-like OSM extract (150 cafés, a few museums, streets
of every class, districts, a bay, a shore run) and on Natural-Earth-like countries of very different sizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely
import skia

from app.carto.compose import compose
from app.jobs.render import RenderRequest, render
from app.mapdata.io import read_files
from app.mapdata.model import Kind, MapData
from app.render.labelrank import ROAD_RANK, poi_class
from app.render.labels import contrast_ratio, luminance, place_labels, readable_color
from app.render.overlay import draw_label, layout_overlay
from app.render.raster import rasterize
from app.render.textlayout import GlyphRun, boxes_overlap, stacked
from app.render.typography import Typography
from app.styles.catalog import get_style, load_styles
from tests.render import label_places as lp

SIZE = (1500, 1100)


@pytest.fixture(scope="module")
def capital_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("capital")
    return [lp.write_harbour_capital(d / "helsinki.osm"), lp.write_gpx_run(d / "run.gpx")]


@pytest.fixture(scope="module")
def capital(capital_files) -> MapData:
    return read_files(capital_files)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> MapData:
    return read_files([lp.write_world(tmp_path_factory.mktemp("world") / "countries.geojson")])


def _union(label) -> shapely.Geometry:
    return shapely.union_all(shapely.box(*np.asarray(label.boxes, float).T))


def _coverage(labels, size) -> float:
    return sum(_union(lab).area for lab in labels) / (size[0] * size[1])


def _minor_names(data: MapData) -> set[str]:
    return {str(n) for n, k, p in zip(data.names, data.kinds, data.props) if k is Kind.POI and poi_class(p) == 2}


def _grid_town(cols: int = 60, rows: int = 24) -> MapData:
    """A wide town (about 14 × 5.5 km): named streets both ways and a landmark in every other block."""
    geoms, kinds, names, props = [], [], [], []
    for i in range(rows):
        y = 50.0 + 0.05 * i / rows
        geoms.append(shapely.LineString([(10.0, y), (10.2, y)]))
        kinds.append("secondary" if i % 4 == 0 else "residential")
        names.append(f"Row Street {i}")
        props.append({})
    for j in range(cols):
        x = 10.0 + 0.2 * j / cols
        geoms.append(shapely.LineString([(x, 50.0), (x, 50.05)]))
        kinds.append("tertiary" if j % 5 == 0 else "residential")
        names.append(f"Column Road {j}")
        props.append({})
    for j in range(0, cols, 2):
        for i in range(0, rows, 3):
            geoms.append(shapely.Point(10.0 + 0.2 * (j + 0.5) / cols, 50.0 + 0.05 * (i + 0.5) / rows))
            kinds.append("poi")
            names.append(f"Museum {i}-{j}")
            props.append({"tourism": "museum"})
    return MapData.from_lists(geoms, kinds, names, props)


# -- density ---------------------------------------------------------------------------------------------
def test_labels_keep_to_the_density_budget_and_a_bigger_page_gets_more():
    town = _grid_town()
    typo = Typography()
    counts = []
    for size in ((1000, 1000), (2000, 1000)):
        labels = place_labels(compose(town, size=size), typo)
        assert _coverage(labels, size) <= typo.label_budget + 1e-9
        unit = min(size) / 1024
        assert len(labels) <= typo.label_density * size[0] * size[1] / unit**2 / 1e6
        counts.append(len(labels))
    # The same type size on a page twice as wide: the map is four times the area and holds more names.
    assert counts[1] > 1.5 * counts[0], counts
    tight = place_labels(compose(town, size=(2000, 1000)), Typography(label_budget=0.01))
    assert 0 < _coverage(tight, (2000, 1000)) <= 0.01 and len(tight) < counts[1]


def test_the_capital_is_covered_within_budget_at_two_sizes(capital):
    for size in (SIZE, (1000, 733)):
        scene = compose(capital, size=size, title="Helsinki")
        labels = place_labels(scene, get_style("parchment").typography)
        budget = get_style("parchment").typography.label_budget
        assert _coverage(labels, size) <= budget + 1e-9
        assert len(labels) >= 20  # streets, districts, landmarks did get names


def test_an_export_at_print_size_places_the_previews_labels(capital):
    typo = get_style("ink").typography
    small = place_labels(compose(capital, size=(900, 660), title="Helsinki"), typo)
    big = place_labels(compose(capital, size=(1800, 1320), title="Helsinki"), typo)
    a, b = {lab.text for lab in small}, {lab.text for lab in big}
    assert len(a & b) >= 0.85 * max(len(a), len(b))


# -- what gets named, in which order ---------------------------------------------------------------------
def test_at_city_scale_landmarks_are_named_and_cafes_are_not(capital):
    scene = compose(capital, size=SIZE, title="Helsinki")
    assert not scene.frame.meters_per_px * max(SIZE) / 1024 < 2.0  # a whole city on the page
    texts = {lab.text for lab in place_labels(scene, get_style("parchment").typography)}
    minor = _minor_names(capital)
    assert len(minor) >= 20 and lp.SILLY[0] in minor
    assert not texts & minor, texts & minor
    assert len(texts & {name for _, name, _, _ in lp.NOTABLE}) >= 3
    assert {"Mannerheimintie", "Hämeentie"} <= texts


def test_at_village_scale_a_few_cafes_may_be_named(tmp_path):
    w, s, e, n = lp.CAPITAL_BOUNDS
    small = (w, s, w + (e - w) / 7, s + (n - s) / 7)
    path = lp.write_harbour_capital(tmp_path / "village.osm", n_minor=14, bounds=small)
    data = read_files([path])
    scene = compose(data, size=(1200, 900), title="Helsinki")
    labels = place_labels(scene, get_style("ink").typography)
    cafes = [lab for lab in labels if lab.text in _minor_names(data)]
    assert 1 <= len(cafes) <= 14


def test_places_then_areas_then_streets_by_class_then_points(capital):
    scene = compose(capital, size=SIZE, title="Helsinki")
    labels = place_labels(scene, get_style("poster").typography)
    roles = [lab.role for lab in labels]
    first_road, first_poi = roles.index("road"), roles.index("poi")
    assert max(i for i, r in enumerate(roles) if r == "place") < min(i for i, r in enumerate(roles) if r != "place")
    assert max(i for i, r in enumerate(roles) if r in ("area", "water")) < first_road < first_poi
    rank = {}
    for name, kind in zip(scene.names, scene.kinds):
        if kind in ROAD_RANK and name:
            rank[str(name)] = min(rank.get(str(name), 9), ROAD_RANK[kind])
    first_pass = [rank[lab.text] for lab in labels[first_road:first_poi]]
    assert first_pass == sorted(first_pass) and first_pass[0] <= 1  # the motorway and the main streets first
    # Every street named once before any point; only repeats of names already on the map come after the points.
    named_before = {lab.text for lab in labels[:first_poi]}
    assert all(lab.text in named_before for lab in labels[first_poi:] if lab.role == "road")


def test_repeated_street_names_are_spaced_apart(capital):
    scene = compose(capital, size=SIZE, title="Helsinki")
    labels = place_labels(scene, Typography(label_budget=0.08, label_density=300))
    spacing = min(SIZE) / 3
    by_name: dict[str, list] = {}
    for lab in labels:
        by_name.setdefault(lab.text, []).append(np.array(_union(lab).centroid.coords[0]))
    repeated = {name: pts for name, pts in by_name.items() if len(pts) > 1}
    assert repeated  # long streets are named more than once on a roomy budget
    for name, pts in repeated.items():
        assert len(pts) <= 3
        for a in range(len(pts)):
            for b in range(a + 1, len(pts)):
                assert np.hypot(*(pts[a] - pts[b])) >= 0.95 * spacing, name


def test_no_label_repeats_the_title(capital):
    for title in ("Helsinki", "HELSINKI", "kallio"):
        labels = place_labels(compose(capital, size=SIZE, title=title), Typography())
        assert not [lab for lab in labels if lab.text.casefold() == title.casefold()]
    labels = place_labels(compose(capital, size=SIZE, title="Shore run"), Typography())
    assert "Helsinki" in {lab.text for lab in labels}  # the city is named when the title is something else


# -- where labels may not go -----------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["noir", "parchment", "poster"])
def test_labels_miss_each_other_the_furniture_and_the_track(capital, style):
    scene = compose(capital, size=SIZE, title="Helsinki", subtitle="Central districts")
    typo = get_style(style).typography
    lay = layout_overlay(scene, typo, image=rasterize(scene).structure)
    assert len(lay.labels) >= 20 and lay.furniture_boxes
    owned = [(i, b) for i, lab in enumerate(lay.labels) for b in lab.boxes]
    for a in range(len(owned)):
        for b in range(a + 1, len(owned)):
            if owned[a][0] != owned[b][0]:
                assert not boxes_overlap(owned[a][1], owned[b][1])
    track = shapely.union_all(scene.geometries[scene.of_kind(Kind.TRACK)])
    assert track.length > 500
    for lab in lay.labels:
        assert not any(boxes_overlap(b, f) for b in lab.boxes for f in lay.furniture_boxes), lab.text
        assert not _union(lab).intersects(track), lab.text


def test_no_label_where_there_is_no_data():
    # A declared extent (as an OSM extract has) with a street and a landmark running on far past its edge.
    data = MapData.from_lists(
        [shapely.LineString([(9.9, 50.01), (10.1, 50.012)]), shapely.Point(10.045, 50.02), shapely.Point(10.0, 50.01)],
        ["primary", "poi", "poi"],
        ["Far Road", "Outside Museum", "Inside Museum"],
        [{}, {"tourism": "museum"}, {"tourism": "museum"}],
    )
    data = dataclasses.replace(data, extent=(9.98, 50.0, 10.02, 50.02))
    scene = compose(data, size=(1200, 600))
    assert scene.extent is not None
    labels = place_labels(scene, Typography())
    texts = [lab.text for lab in labels]
    assert "Inside Museum" in texts and "Far Road" in texts and "Outside Museum" not in texts
    for lab in labels:
        u = _union(lab)
        assert shapely.intersection(u, scene.extent).area >= 0.8 * u.area, lab.text


def test_the_capital_is_labelled_only_over_its_extract(capital):
    scene = compose(capital, size=SIZE, title="Helsinki")
    labels = place_labels(scene, get_style("noir").typography)
    for lab in labels:
        if lab.role in ("poi", "place"):  # a point's name may reach past the edge; the point may not
            anchor = lab.marker or _union(lab).centroid.coords[0]
            assert scene.extent.contains(shapely.Point(anchor)), lab.text
        else:
            u = _union(lab)
            assert shapely.intersection(u, scene.extent).area >= 0.8 * u.area, lab.text
    assert sum(lab.role == "road" for lab in labels) >= 10


# -- legibility ------------------------------------------------------------------------------------------
def test_readable_color_reaches_the_contrast():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    for text, bg in (("#2f5d86", "#16181d"), ("#cfc8b8", "#f2ebe0"), ("#eaf2ff", "#d0dcf0"), ("#777777", "#888888")):
        assert contrast_ratio(readable_color(text, bg), bg) >= 4.5
    assert readable_color("#2b2118", "#f4ecd8") == "#2b2118"  # already readable: unchanged


def test_every_style_sets_label_colours_that_read_on_their_halo(capital):
    scene = compose(capital, size=(1000, 733), title="Helsinki")
    for name, style in load_styles().items():
        typo = style.typography
        labels = place_labels(scene, typo)
        assert labels, name
        for lab in labels:
            assert contrast_ratio(lab.color, typo.halo_color) >= 3.0, (name, lab.text, lab.color)


def _luminances(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(float) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a, b):
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def _grow(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


@pytest.mark.parametrize("style", ["noir", "parchment", "poster"])
def test_street_names_read_on_the_painted_map(capital_files, style):
    """On the finished picture, each street name's letters against the pixels right around them (its halo over
    the painted road: noir's gold roads especially) are at least 3:1 apart in luminance."""
    size = (1200, 880)
    res = render(RenderRequest(capital_files, style=style, size=size, seed=1, title="Helsinki"))
    typo = get_style(style).typography
    lay = layout_overlay(res.scene, typo, image=res.layers.structure)
    roads = [lab for lab in lay.labels if lab.role == "road"]
    assert len(roads) >= 8
    unit = min(size) / 1024
    bare = dataclasses.replace(typo, halo_width=0.0)
    measured = 0
    for lab in roads:
        rgba = np.zeros((size[1], size[0], 4), np.uint8)
        surface = skia.Surface(rgba, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
        draw_label(surface.getCanvas(), lab, bare, unit)
        touched = rgba[..., 3] > 10
        ring = _grow(touched, 1) & ~touched  # the first pixels outside the letters: their halo over the map
        # Nine in ten of those pixels (the halo over the road, or the knocked-out road itself) read at 3:1.
        ratios = _contrast(luminance(lab.color), _luminances(res.image[ring]))
        assert np.quantile(ratios, 0.1) >= 3.0, (lab.text, lab.color, np.quantile(ratios, 0.1))
        measured += 1
    assert measured >= 5


# -- world maps ------------------------------------------------------------------------------------------
BIG = ("RUSSIA", "CANADA", "UNITED STATES OF AMERICA", "BRAZIL", "AUSTRALIA", "CHINA", "INDIA", "KAZAKHSTAN")


@pytest.mark.parametrize("style", ["parchment", "poster", "noir"])
def test_a_world_map_names_every_large_country_inside_it(world, style):
    scene = compose(world, size=SIZE, title="The World")
    labels = place_labels(scene, get_style(style).typography)
    texts = {lab.text for lab in labels}
    assert set(BIG) <= texts, set(BIG) - texts
    assert len(labels) >= 12
    parts = {}
    for g, name in zip(scene.geometries, scene.names):
        if name:
            parts[str(name).upper()] = max(shapely.get_parts(g), key=lambda p: p.area)
    for lab in labels:
        u = _union(lab)
        assert shapely.intersection(u, parts[lab.text]).area >= 0.8 * u.area, lab.text
    # The USA is named on its mainland, not on Alaska; on two lines, as it does not fit on one.
    usa = next(lab for lab in labels if lab.text.startswith("UNITED STATES"))
    assert len(usa.boxes) == 2


def test_two_line_labels_are_centred_and_stacked():
    from app.render.fonts import font_for_text

    run = GlyphRun.make("UNITED STATES OF AMERICA", font_for_text("OpenSans-Regular.ttf", 14.0, "U"), 0.1)
    xf, boxes = stacked(run, 300.0, 200.0, [13])
    assert len(boxes) == 2 and boxes[0][3] <= boxes[1][1]  # line one above line two
    for b in boxes:
        assert (b[0] + b[2]) / 2 == pytest.approx(300.0)
        assert b[2] - b[0] < run.width * 0.7
    assert (boxes[0][1] + boxes[1][3]) / 2 == pytest.approx(200.0, abs=run.cap)
    assert xf[:13, 3].max() < xf[14:, 3].min()  # baselines


def test_the_area_of_glyph_boxes_is_their_union_area():
    """labels._area counts overlapping boxes once, as the union polygon's area did (without building it)."""
    from app.render.labels import _area, _union

    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 7, 20):
        for _ in range(50):
            xy = rng.uniform(0, 100, (n, 2))
            if rng.random() < 0.5:  # shared edges and corners, as a straight label's glyph cells have
                xy = xy.round()
            wh = rng.uniform(0.5, 25, (n, 2)).round(1)
            boxes = [(x, y, x + w, y + h) for (x, y), (w, h) in zip(xy, wh, strict=True)]
            assert _area(boxes) == pytest.approx(_union(boxes).area, rel=1e-12)


def test_along_with_the_lines_distances_lays_out_as_without():
    from app.render.fonts import font
    from app.render.textlayout import along, along_distances

    run = GlyphRun.make("Harbour Street", font(Typography().label_font, 14))
    t = np.linspace(0, 3, 40)
    for coords in (np.column_stack([t * 100, 20 * np.sin(t)]), np.column_stack([300 - t * 100, 20 * np.cos(t)])):
        cum = along_distances(coords)
        for start in (0.0, 40.0, 120.0):
            a, b = along(run, coords, start, pad=2.0), along(run, coords, start, pad=2.0, cum=cum)
            assert (a is None) == (b is None)
            if a is not None:
                assert np.array_equal(a[0], b[0]) and a[1] == b[1]
                assert all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in a[1])
