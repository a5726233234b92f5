"""A raster export keeps nothing but the finished picture (render(keep=False)): no structure image drawn, the layers
let go, the overlay drawn on the painting itself; the picture written is the same as a render that keeps it all."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from app.jobs.render import RenderRequest, load, render, render_to_file

FEATURES = [  # a few features: quick to place labels on
    ({"type": "LineString", "coordinates": [[10.0, 59.0], [10.02, 59.01], [10.04, 59.0]]},
     {"highway": "primary", "name": "Long Street"}),
    ({"type": "Polygon", "coordinates": [[[10.01, 59.002], [10.03, 59.002], [10.03, 59.008], [10.01, 59.002]]]},
     {"leisure": "park", "name": "Green"}),
    ({"type": "Point", "coordinates": [10.02, 59.005]}, {"amenity": "cafe", "name": "Kaffe"}),
]  # fmt: skip


def test_a_lean_export_writes_the_same_picture(tmp_path):
    path = tmp_path / "town.geojson"
    feats = [{"type": "Feature", "geometry": g, "properties": p} for g, p in FEATURES]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    data = load([path])
    req = RenderRequest([path], style="ink", size=(320, 240), seed=3)
    full = render(req, data=data)
    assert full.layers.structure is not None and full.sketch is not None and "sketch" in full.stages
    assert (full.image != full.sketch).any()  # the overlay went on a copy: the sketch is bare
    lean = render_to_file(req, tmp_path / "map.png", data=data)
    assert lean.layers is None and lean.sketch is None and "sketch" not in lean.stages
    with Image.open(tmp_path / "map.png") as im:
        assert np.array_equal(np.asarray(im), full.image)
    assert np.array_equal(lean.image, full.image)
