"""GroundOverlay pictures are drawn: in the right place, under the data, in every style, framed as drawn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from app.carto.framing import lonlat_to_px
from app.carto.scene import Frame, PlacedRaster, Scene
from app.jobs.render import RenderRequest, load, render
from app.render.imagery import draw_imagery, lay_on_paper
from app.styles.catalog import load_styles
from tests.mapdata.kml_samples import (
    BOX,
    WINDOW,
    ground_overlay,
    image_bytes,
    kml,
    placemarks,
    super_overlay_kmz,
    village_kml,
)

SIZE = (400, 300)
QUIET = {"title": "", "labels": False, "scale_bar": False, "north_arrow": False}


def _empty_scene(w: int, h: int, rasters) -> Scene:
    frame = Frame(w, h, 0, 0.0, "EPSG:3857", 1.0, (1.0, 0.0, 0.0, 0.0, -1.0, 0.0), (0.0, 0.0, 1.0, 1.0))
    none = np.empty(0, object)
    return Scene(frame, none, none, none, rasters=rasters)


def test_draw_imagery_puts_the_image_through_its_mesh():
    img = np.zeros((40, 60, 4), np.uint8)
    img[..., 3] = 255
    img[:20, :, 0] = 255  # top half red
    img[20:, :, 2] = 255  # bottom half blue
    t = np.linspace(0.0, 1.0, 5)
    mesh = np.stack(np.meshgrid(20 + t * 100, 10 + t * 50), axis=-1)  # onto cols 20..120, rows 10..60
    out = draw_imagery(_empty_scene(200, 100, [PlacedRaster(img, mesh)]))
    assert out[20, 70].tolist() == [255, 0, 0, 255] and out[50, 70].tolist() == [0, 0, 255, 255]
    covered = out[..., 3] > 0
    assert covered[10:60, 20:120].all() and not covered[:, 125:].any() and not covered[65:].any()
    assert draw_imagery(_empty_scene(200, 100, [])) is None


def test_lay_on_paper_multiplies_light_paper_and_screens_dark_paper():
    imagery = np.zeros((2, 2, 4), np.uint8)
    imagery[0, 0] = (0, 0, 0, 255)  # black, opaque
    imagery[0, 1] = (255, 255, 255, 255)  # white, opaque
    light = np.full((2, 2, 3), 0.9, np.float32)
    lay_on_paper(light, imagery)
    assert light[0, 0, 0] < 0.3 and light[0, 1, 0] == pytest.approx(0.9) and light[1, 1, 0] == pytest.approx(0.9)
    dark = np.full((2, 2, 3), 0.1, np.float32)
    lay_on_paper(dark, imagery)
    assert dark[0, 0, 0] == pytest.approx(0.1) and dark[0, 1, 0] > 0.8 and dark[1, 1, 0] == pytest.approx(0.1)


def _overlay_area(scene, box=BOX, inset=0.2) -> np.ndarray:
    """HxW bool: the inner part of the (unrotated) box on the canvas, away from its edges."""
    w, s, e, n = box
    dx, dy = (e - w) * inset, (n - s) * inset
    cols, rows = lonlat_to_px(scene.frame, np.array([w + dx, e - dx]), np.array([n - dy, s + dy]))
    area = np.zeros(scene.size[::-1], bool)
    area[int(rows[0]) : int(rows[1]), int(cols[0]) : int(cols[1])] = True
    return area


@pytest.mark.parametrize("style", sorted(load_styles()))
def test_the_overlay_is_visible_in_every_style(tmp_path, style):
    path = village_kml(tmp_path, rotation=0.0)
    data = load([path])
    req = RenderRequest([path], style=style, size=SIZE, seed=3, **QUIET)
    shown = render(req, data=data)
    hidden = render(req, data=dataclasses.replace(data, rasters=[]))
    assert hidden.scene.frame == shown.scene.frame  # the placemarks span the window: same framing
    area = _overlay_area(shown.scene)
    assert area.sum() > 2000
    diff = np.abs(shown.image.astype(np.int16) - hidden.image.astype(np.int16)).mean(axis=2)
    assert diff[area].mean() > 25, f"{style}: the overlay changes its area by {diff[area].mean():.1f} only"
    outside = ~_overlay_area(shown.scene, inset=-0.15)
    assert diff[outside].mean() < 2.0  # and nothing else
    # The AI's structure image carries it too.
    structure = np.abs(shown.layers.structure.astype(np.int16) - hidden.layers.structure.astype(np.int16))
    assert structure.mean(axis=2)[area].mean() > 25


def test_framing_fits_the_placemarks_and_the_drawn_overlay(tmp_path):
    far = (-122.5, 37.5, -122.0, 38.0)
    path = tmp_path / "trip.kml"
    body = "<Placemark><name>Enna</name><Point><coordinates>14.28,37.57</coordinates></Point></Placemark>"
    path.write_text(kml(body + ground_overlay("Bay Area", "bay.jpg", far)))  # bay.jpg missing: not drawn
    res = render(RenderRequest([path], style="ink", size=SIZE, **QUIET))
    w, s, e, n = res.scene.frame.lonlat_bounds
    assert e - w < 0.1 and n - s < 0.1 and w < 14.28 < e  # a village's worth around Enna, not two continents


def test_the_village_is_framed_to_its_window(tmp_path):
    res = render(RenderRequest([village_kml(tmp_path)], style="ink", size=SIZE, **QUIET))
    w, s, e, n = res.scene.frame.lonlat_bounds
    assert w <= WINDOW[0] and e >= WINDOW[2] and s <= WINDOW[1] and n >= WINDOW[3]
    assert (e - w) < 2 * (WINDOW[2] - WINDOW[0]) or (n - s) < 2 * (WINDOW[3] - WINDOW[1])


def test_a_super_overlay_kmz_renders_its_finest_tiles(tmp_path):
    res = render(RenderRequest([super_overlay_kmz(tmp_path / "survey.kmz")], style="watercolor", size=SIZE, **QUIET))
    area = _overlay_area(res.scene, inset=0.05)
    r, g, b = (res.image[area][:, i].astype(float).mean() for i in range(3))
    assert g > r + 15, f"the green level-1 tiles should lie over the red level-0 one (rgb {r:.0f} {g:.0f} {b:.0f})"


def test_a_picture_between_its_placemarks_is_one_group(tmp_path):
    """Placemarks on the corners of a drawn overlay are not 'groups far apart': the picture joins them."""
    w, s, e, n = BOX
    corners = [("SW", w, s), ("NE", e, n), ("SE", e, s), ("NW", w, n)]
    (tmp_path / "scan.jpg").write_bytes(image_bytes(80, 60))
    path = tmp_path / "corners.kml"
    path.write_text(kml(placemarks(corners) + ground_overlay("Scan", "scan.jpg")))
    res = render(RenderRequest([path], style="ink", size=SIZE, **QUIET))
    assert not any("far apart" in x for x in res.warnings), res.warnings
