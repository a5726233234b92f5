import json

import pytest

from app import __version__
from app.export.metadata import build_metadata, format_parameters
from app.mapdata.model import SourceInfo


def _build(**kw):
    args = dict(
        style="ink",
        engine="procedural",
        seed=7,
        size=(3000, 2000),
        inputs=[SourceInfo(path="/home/someone/private/town.osm.pbf", format="osm-pbf", sha256="c0ffee" * 10)],
        bounds=(10.0, 59.0, 10.1, 59.05),
        crs="EPSG:3857",
    )
    args.update(kw)
    return build_metadata(**args)


def test_core_fields():
    md = _build(title="Salthaven")
    assert md["app"] == "mapbrush"
    assert md["schema"] == 1
    assert md["version"] == __version__
    assert "created" not in md  # no wall-clock time: same input + style + seed → byte-identical PNG
    assert md["size"] == [3000, 2000]
    assert md["bounds"] == [10.0, 59.0, 10.1, 59.05]
    assert md["title"] == "Salthaven"
    assert json.loads(json.dumps(md)) == md


def test_inputs_keep_only_the_file_name():
    md = _build(inputs=[SourceInfo("/secret/dir/a.gpx", "gpx", "aa" * 32), {"name": "b.geojson", "sha256": "bb"}])
    assert md["inputs"] == [
        {"name": "a.gpx", "sha256": "aa" * 32, "format": "gpx"},
        {"name": "b.geojson", "sha256": "bb"},
    ]
    assert "/secret" not in json.dumps(md)


def test_extra_sits_at_top_level_but_cannot_replace_core_keys():
    md = _build(extra={"prompt": "a town", "tier": "cuda-16gb"})
    assert md["prompt"] == "a town" and md["tier"] == "cuda-16gb"
    with pytest.raises(ValueError, match="seed"):
        _build(extra={"seed": 1})
    with pytest.raises(TypeError):
        _build(extra={"thing": object()})


def test_parameters_text():
    md = _build(
        title="Port, old & new",
        extra={
            "prompt": {"positive": "a harbour town", "negative": "blurry"},
            "models": [{"id": "flux2-klein-4b", "variant": "q4"}],
            "steps": 4,
        },
    )
    text = format_parameters(md)
    lines = text.split("\n")
    assert lines[0] == "a harbour town"
    assert lines[1] == "Negative prompt: blurry"
    params = lines[2]
    assert params.startswith('Title: "Port, old & new", Style: ink, Engine: procedural, Seed: 7, Size: 3000x2000')
    assert "Model: flux2-klein-4b (q4)" in params
    assert "Inputs: town.osm.pbf (sha256 c0ffeec0ffee…)" in params
    assert f"Version: mapbrush {__version__}" in params


def test_parameters_skip_missing_values():
    text = format_parameters({"style": "blueprint", "seed": None, "size": [10, 20]})
    assert text == "Style: blueprint, Size: 10x20"
