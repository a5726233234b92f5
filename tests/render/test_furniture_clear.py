"""Furniture never covers data: in every style, on the demo town, an OSM city extract and a GPX hike, the title,
compass and scale bar hide at most 0.5% of the data pixels and none of a track.

Data pixels (defined here, independently of app/render/quiet.py): the pixels a map's reader reads as map —
  - every pixel at least half covered by a line, point or building kind (roads of every class, rail, waterways,
    GPS tracks, POIs, buildings, and the lines and points of data without map tags), and
  - the outline of every area kind (sea, lakes, parks, woods, admin and other areas): a pixel of the area whose
    4-neighbour lies outside it (the coast, a shore, a park's edge).
The insides of broad fills are not data: a cartouche on the open sea or across a park's lawn hides nothing a
reader needs. Place points are not drawn (their names are labels), so they are not data either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from app.carto.compose import compose
from app.jobs.render import RenderRequest, load, render
from app.mapdata.model import ROAD_KINDS, Kind, MapData
from app.paths import resource_root
from app.render.overlay import layout_overlay, overlay_mask
from app.render.raster import rasterize
from app.render.typography import Typography
from app.styles.catalog import get_style
from tests.render.sample_places import write_gpx_hike, write_osm_city

EXAMPLES = resource_root() / "examples"
STYLES = sorted(p.stem for p in (resource_root() / "styles").glob("*.toml"))
SIZE = (960, 720)
HIDDEN_MAX = 0.005  # share of the data pixels furniture may hide
LINE_KINDS = frozenset(ROAD_KINDS | {Kind.RAIL, Kind.WATERWAY, Kind.TRACK, Kind.POI, Kind.BUILDING})
AREA_KINDS = frozenset({Kind.SEA, Kind.WATER, Kind.PARK, Kind.FOREST, Kind.ADMIN, Kind.OTHER})


def data_pixels(layers) -> np.ndarray:
    """HxW bool: the data pixels of the module docstring."""
    data = np.zeros((layers.height, layers.width), bool)
    for kind, m in layers.masks.items():
        inside = m >= 128
        if kind in LINE_KINDS:
            data |= inside
        elif kind in AREA_KINDS:
            edge = np.zeros_like(inside)
            edge[1:, :] |= inside[1:, :] & ~inside[:-1, :]
            edge[:-1, :] |= inside[:-1, :] & ~inside[1:, :]
            edge[:, 1:] |= inside[:, 1:] & ~inside[:, :-1]
            edge[:, :-1] |= inside[:, :-1] & ~inside[:, 1:]
            data |= edge
    for m in layers.marks.values():
        data |= m >= 128
    return data


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, tuple[list[Path], MapData]]:
    d = tmp_path_factory.mktemp("furniture")
    files = {
        "demo": [EXAMPLES / "harbour_town.geojson", EXAMPLES / "harbour_hike.gpx"],
        "city": [write_osm_city(d / "norhamn.osm")],
        "hike": [write_gpx_hike(d / "hike.gpx")],
    }
    return {name: (paths, load(paths)) for name, paths in files.items()}


def furniture_of(result, style: str):
    """The layout render() drew, without labels (furniture first, labels after: the furniture is the same)."""
    typo = get_style(style).typography
    lay = layout_overlay(result.scene, typo, image=result.layers.structure, layers=result.layers, labels=False)
    lay.tracks.markers = []  # a track's start and finish markers mark its ends: they sit on the track by design
    return lay, overlay_mask(result.scene.size, lay, typo)


def test_every_bundled_style_is_checked():
    assert len(STYLES) == 7


@pytest.mark.parametrize("place", ["demo", "city", "hike"])
@pytest.mark.parametrize("style", STYLES)
def test_furniture_hides_no_data(places, place, style):
    paths, data = places[place]
    result = render(RenderRequest(paths, style=style, size=SIZE), data=data)
    lay, furniture = furniture_of(result, style)
    assert lay.cartouche is not None  # every one of these maps has a title
    assert furniture.mean() > 0.004  # the furniture is really drawn (a title alone is bigger than this)
    data_px = data_pixels(result.layers)
    hidden = (data_px & furniture).sum() / data_px.sum()
    assert hidden <= HIDDEN_MAX, f"{style} on the {place}: furniture hides {hidden:.2%} of the data"
    track = result.layers.mask(Kind.TRACK) >= 128
    assert not (track & furniture).any(), f"{style} on the {place}: furniture covers the track"


@pytest.mark.parametrize("style", ["poster", "parchment"])
def test_a_title_band_has_its_own_room_below_the_map(places, style):
    paths, data = places["city"]
    result = render(RenderRequest(paths, style=style, size=SIZE), data=data)
    lay, _ = furniture_of(result, style)
    band_top = lay.cartouche.box[1]
    assert lay.cartouche.style == "banner" and band_top < SIZE[1] * 0.9
    drawn = [g for g in result.scene.geometries if g is not None]
    lowest = shapely.bounds(np.array(drawn, object))[:, 3].max()
    assert lowest <= band_top + 4.5  # nothing is drawn under the band (the clip pad aside)
    # ...and the map is framed above it: the data reaches down to a margin above the band, not into it.
    rows = np.flatnonzero(data_pixels(result.layers).any(axis=1))
    assert rows.max() < band_top
    assert band_top - rows.max() < 0.2 * SIZE[1]


def _streets(lon0: float, lat0: float, quiet_top_right: bool) -> MapData:
    """A dense street grid over a square; optionally without streets in its top-right quarter."""
    geoms, kinds = [], []
    for i in range(41):
        t = i / 40
        for a, b in (((0, t), (1, t)), ((t, 0), (t, 1))):
            line = shapely.LineString(
                [(lon0 + a[0] * 0.04, lat0 + a[1] * 0.02), (lon0 + b[0] * 0.04, lat0 + b[1] * 0.02)]
            )
            if quiet_top_right:
                line = line.difference(shapely.box(lon0 + 0.02, lat0 + 0.01, lon0 + 0.05, lat0 + 0.03))
            if not line.is_empty:
                geoms.append(line)
                kinds.append("residential")
    return MapData.from_lists(geoms, kinds, [None] * len(geoms))


def test_the_cartouche_goes_to_the_quietest_place_not_the_usual_corner():
    scene = compose(_streets(10.0, 50.0, quiet_top_right=True), size=(800, 800), title="Quietby", subtitle="x")
    layers = rasterize(scene)
    lay = layout_overlay(scene, Typography(cartouche="box", north_arrow="none"), layers=layers, labels=False)
    x0, _y0, _x1, y1 = lay.cartouche.box
    assert x0 > 400 and y1 < 400  # the street-free quarter, although bottom-left is the usual corner


def test_furniture_shrinks_when_no_place_is_quiet():
    scene = compose(_streets(10.0, 50.0, quiet_top_right=False), size=(800, 800), margin=0.0, title="Gridham")
    layers = rasterize(scene)
    typo = Typography(cartouche="box", north_arrow="compass")
    full = layout_overlay(scene, typo, labels=False)  # no layers: nothing is judged busy, full size
    tight = layout_overlay(scene, typo, layers=layers, labels=False)

    def size(box):
        return (box[2] - box[0]) * (box[3] - box[1])

    assert size(tight.cartouche.box) < 0.8 * size(full.cartouche.box)
    assert tight.north_arrow.size < full.north_arrow.size


def test_no_scale_bar_on_a_world_map_but_one_on_a_city(city):
    land = [shapely.box(-170 + 40 * i, -60 + 25 * (i % 4), -140 + 40 * i, -40 + 25 * (i % 4) + 20) for i in range(9)]
    land.append(shapely.box(-60, 70, -20, 83.6))
    world = compose(MapData.from_lists(land, ["admin"] * len(land), [None] * len(land)), size=(1200, 800))
    assert layout_overlay(world, Typography(), labels=False).scale_bar is None
    town = compose(city, size=(1200, 800))
    assert layout_overlay(town, Typography(), labels=False).scale_bar is not None
