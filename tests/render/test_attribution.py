"""The data credit: a map drawn from OpenStreetMap data (an .osm or .pbf file, fetched or local) says
"© OpenStreetMap contributors" (ODbL) — in its metadata and in the picture, small but legible, on a quiet place like
the other furniture, and labels keep clear of it; a map of a plain GeoJSON has none."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from app.carto.attribution import OSM_ATTRIBUTION, attribution_lines
from app.carto.compose import compose
from app.export.png import read_metadata
from app.jobs.render import RenderRequest, load, render, render_to_file
from app.mapdata.model import Kind, MapData, SourceInfo
from app.paths import resource_root
from app.render.attribution import MIN_PX, Attribution
from app.render.overlay import OverlayLayout, finish, layout_overlay, overlay_mask
from app.render.raster import rasterize
from app.render.textlayout import boxes_overlap
from app.styles.catalog import get_style
from tests.render.sample_places import write_gpx_hike, write_osm_city
from tests.render.test_furniture_clear import HIDDEN_MAX, data_pixels

SIZE = (960, 720)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[Path, MapData]:
    path = write_osm_city(tmp_path_factory.mktemp("credit") / "norhamn.osm")
    return path, load([path])


def test_lines_owed_to_the_sources():
    osm = SourceInfo("a.osm", "osm-xml", "0" * 64)
    pbf = SourceInfo("b.osm.pbf", "osm-pbf", "1" * 64)
    gpx = SourceInfo("hike.gpx", "gpx", "2" * 64)
    assert attribution_lines([gpx]) == []
    assert attribution_lines([osm, pbf, gpx]) == [OSM_ATTRIBUTION]  # once, however many OSM files
    assert attribution_lines([gpx, osm], ["Relief: Terrarium tiles", "", OSM_ATTRIBUTION]) == [
        OSM_ATTRIBUTION,
        "Relief: Terrarium tiles",
    ]


def test_an_osm_map_records_and_draws_the_credit(city, tmp_path):
    path, data = city
    out = render_to_file(RenderRequest([path], style="watercolor", size=SIZE), tmp_path / "city.png", data=data,
                         keep=True)  # fmt: skip
    assert out.scene.attribution == [OSM_ATTRIBUTION]
    assert read_metadata(tmp_path / "city.png")["attribution"] == [OSM_ATTRIBUTION]

    typo = get_style("watercolor").typography
    lay = layout_overlay(out.scene, typo, image=out.layers.structure, layers=out.layers, labels=True)
    credit = lay.attribution
    assert credit is not None and credit.lines == (OSM_ATTRIBUTION,)
    assert credit.size >= MIN_PX  # legible at this size
    x0, y0, x1, y1 = (round(v) for v in credit.box)
    assert 0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1]
    assert (x1 - x0) * (y1 - y0) < 0.01 * SIZE[0] * SIZE[1]  # small: under 1% of the picture
    # Drawn: the same finish without the credit differs in its box, and only there (the rest of the layout kept).
    bare = dataclasses.replace(lay, attribution=None)
    with_it = finish(out.sketch, out.scene, typo, layout=lay)
    without = finish(out.sketch, out.scene, typo, layout=bare)
    diff = np.any(with_it != without, axis=2)
    inside = diff[y0:y1, x0:x1]
    assert inside.mean() > 0.2
    bx0, by0, bx1, by1 = credit.box
    near = diff[int(by0) - 1 : int(np.ceil(by1)) + 1, int(bx0) - 1 : int(np.ceil(bx1)) + 1]
    assert diff.sum() == near.sum()  # nothing else changed (its anti-aliased edge aside)
    # Its text is ink on a pale plate: dark strokes well apart from the plate's colour.
    gray = with_it[y0:y1, x0:x1].astype(float).mean(axis=2)
    assert np.percentile(gray, 2) < np.median(gray) - 80
    # Labels keep clear of it.
    assert not any(boxes_overlap(b, credit.box) for boxes in lay.label_boxes for b in boxes)


@pytest.mark.parametrize("style", ["watercolor", "poster", "ink", "fantasy"])
def test_the_credit_hides_no_data(city, style):
    path, data = city
    result = render(RenderRequest([path], style=style, size=SIZE), data=data)
    typo = get_style(style).typography
    lay = layout_overlay(result.scene, typo, image=result.layers.structure, layers=result.layers, labels=False)
    assert lay.attribution is not None
    furniture = overlay_mask(SIZE, OverlayLayout(attribution=lay.attribution), typo)
    assert furniture.any()
    data_px = data_pixels(result.layers)
    hidden = (data_px & furniture).sum() / data_px.sum()
    assert hidden <= HIDDEN_MAX / 5, f"{style}: the credit hides {hidden:.2%} of the data"
    others = [b for b in lay.furniture_boxes if b != lay.attribution.box]
    assert not any(boxes_overlap(b, lay.attribution.box) for b in others)


def test_a_hike_with_osm_surroundings_keeps_its_track_clear(city, tmp_path):
    """A GPX over OSM data (the window's surroundings): credited, and never over the track."""
    path, _ = city
    gpx = write_gpx_hike(tmp_path / "hike.gpx")
    data = load([gpx, path])
    result = render(RenderRequest([gpx, path], style="watercolor", size=SIZE), data=data)
    typo = get_style("watercolor").typography
    lay = layout_overlay(result.scene, typo, image=result.layers.structure, layers=result.layers, labels=False)
    assert lay.attribution is not None
    mask = overlay_mask(SIZE, OverlayLayout(attribution=lay.attribution), typo)
    assert not (mask & (result.layers.mask(Kind.TRACK) >= 128)).any()


def test_a_plain_geojson_has_no_credit(tmp_path):
    path = resource_root() / "examples" / "harbour_town.geojson"
    out = render_to_file(RenderRequest([path], style="ink", size=(640, 480)), tmp_path / "town.png", keep=True)
    assert out.scene.attribution == []
    assert read_metadata(tmp_path / "town.png")["attribution"] == []
    typo = get_style("ink").typography
    assert layout_overlay(out.scene, typo, layers=out.layers, labels=False).attribution is None
    assert "OpenStreetMap" not in json.dumps(out.metadata)


def test_the_credit_stays_legible_on_a_small_picture(city):
    _, data = city
    scene = compose(data, size=(400, 300))
    lay = layout_overlay(scene, get_style("ink").typography, layers=rasterize(scene), labels=False)
    assert lay.attribution.size >= MIN_PX
    assert Attribution.layout([], 1.0, get_style("ink").typography) is None


def test_a_style_thumbnail_leaves_the_credit_out(city):
    """The window's 240×180 style thumbnails (app/ui/tasks.thumbnail_task) draw no credit: at that size it would
    cover a corner of the swatch; every map rendered or exported has it."""
    from app.ui.tasks import THUMB_SIZE, RenderJob, thumbnail_task

    path, data = city
    req = RenderRequest([path], style="ink", size=SIZE)
    thumb = thumbnail_task(RenderJob(req, data))
    bare = render(dataclasses.replace(req, size=THUMB_SIZE, title="", subtitle=None, labels=False, scale_bar=False,
                                      north_arrow=False, attribution=False), data=data)  # fmt: skip
    assert bare.scene.attribution == [] and np.array_equal(thumb, bare.image)
    credited = render(dataclasses.replace(req, size=THUMB_SIZE, title="", subtitle=None, labels=False,
                                          scale_bar=False, north_arrow=False), data=data)  # fmt: skip
    assert credited.scene.attribution == [OSM_ATTRIBUTION] and not np.array_equal(thumb, credited.image)
