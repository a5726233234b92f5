"""The imagery layer: GroundOverlay pictures can be hidden like any layer, by name on the command line, by the
request, from a PNG's metadata and in the window's Layers panel. Hidden, they are neither drawn nor framed
(as a hidden kind is not)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.jobs.render import RenderRequest, load, render
from app.mapdata.layers import UnknownLayer, parse_layers
from app.mapdata.model import Kind
from app.ui.composition import LAYER_GROUPS, Composition
from tests.mapdata.kml_samples import ground_overlay, image_bytes, kml, placemarks, village_kml

SIZE = (320, 240)
QUIET = {"title": "", "labels": False, "scale_bar": False, "north_arrow": False, "seed": 5}


@pytest.mark.parametrize("name", ["imagery", "pictures", "Overlays", "images", "picture"])
def test_imagery_and_its_aliases_are_layer_names(name):
    sel = parse_layers(f"water,{name}")
    assert sel.imagery and not sel.labels and Kind.WATER in sel.kinds
    assert not parse_layers("water,labels").imagery
    with pytest.raises(UnknownLayer, match="imagery"):  # the known names list it
        parse_layers("photos")


def test_hidden_pictures_are_not_drawn_and_the_rest_is(tmp_path):
    path = village_kml(tmp_path, rotation=0.0)  # the placemarks span the window, the picture in its middle
    data = load([path])
    shown = render(RenderRequest([path], style="ink", size=SIZE, **QUIET), data=data)
    hidden = render(RenderRequest([path], style="ink", size=SIZE, imagery=False, **QUIET), data=data)
    assert not hidden.scene.rasters and shown.scene.rasters
    assert hidden.scene.frame == shown.scene.frame  # the placemarks alone frame the same window
    diff = np.abs(shown.image.astype(np.int16) - hidden.image.astype(np.int16)).mean(axis=2)
    assert diff.mean() > 5  # the picture was visible, and is gone
    assert hidden.metadata["imagery"] is False and shown.metadata["imagery"] is True
    assert len(data.rasters) == 1  # the loaded data is left as it was


def test_hidden_pictures_do_not_frame_the_map_like_a_hidden_kind(tmp_path):
    far = (14.5, 46.0, 14.7, 46.1)  # a scanned map some 40 km from the placemarks
    (tmp_path / "far.jpg").write_bytes(image_bytes(64, 48))
    path = tmp_path / "trip.kml"
    path.write_text(kml(placemarks() + ground_overlay("Far survey", "far.jpg", far)))
    shown = render(RenderRequest([path], style="ink", size=SIZE, **QUIET))
    hidden = render(RenderRequest([path], style="ink", size=SIZE, imagery=False, **QUIET))
    assert shown.scene.frame.lonlat_bounds[2] > 14.7  # the picture framed
    w, _, e, _ = hidden.scene.frame.lonlat_bounds
    assert e < 14.3 and w < 14.05  # the placemarks only


def test_only_pictures_and_imagery_hidden_says_so(tmp_path):
    (tmp_path / "scan.jpg").write_bytes(image_bytes(64, 48))
    path = tmp_path / "scan.kml"
    path.write_text(kml(ground_overlay("Scan", "scan.jpg")))
    with pytest.raises(InputError, match=r"only 1 picture \(GroundOverlays\) and the imagery layer is hidden"):
        render(RenderRequest([path], style="ink", size=SIZE, imagery=False, **QUIET))
    path.write_text(kml(placemarks() + ground_overlay("Scan", "scan.jpg")))
    with pytest.raises(InputError, match=r"leave out all 4 features .*1 picture \(imagery hidden\)"):
        render(RenderRequest([path], style="ink", size=SIZE, imagery=False, kinds=frozenset({Kind.SEA}), **QUIET))


def test_the_window_and_the_metadata_carry_the_imagery_layer():
    assert "imagery" in LAYER_GROUPS and LAYER_GROUPS["imagery"] == frozenset()
    c = Composition(hidden=frozenset({"imagery"}))
    req = c.request([])
    assert req.imagery is False and req.kinds is None and req.labels is True  # no kind hidden with it
    assert Composition().request([]).imagery is True
    restored = Composition.from_metadata({"kinds": None, "labels": True, "imagery": False})
    assert restored.hidden == frozenset({"imagery"})
    assert "imagery" not in Composition.from_metadata({"style": "ink"}).hidden  # older PNGs: shown
