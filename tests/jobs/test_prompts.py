"""The AI prompt says what the map is — a hike in the mountains, the world, a city — from the data."""

import json
import math

import pytest

from app.jobs.ai import build_prompt
from app.jobs.render import RenderRequest, prompt_subject, titles_for
from app.mapdata.io import read_file
from app.styles.catalog import load_styles


@pytest.fixture(scope="module")
def templates():
    return {name: style.prompt.template for name, style in load_styles().items()}


def _write(path, features, **members):
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": features}))
    return path


def _hike(tmp_path):
    n = 80
    pts = "".join(
        f'<trkpt lat="{46.47 - 0.01 * (1 - math.cos(2 * math.pi * i / n)):.6f}" '
        f'lon="{13.79 + 0.02 * math.sin(2 * math.pi * i / n):.6f}"><ele>{810 + 900 * math.sin(math.pi * i / n):.1f}'
        "</ele></trkpt>"
        for i in range(n + 1)
    )
    path = tmp_path / "Morning_Hike.gpx"
    path.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{pts}</trkseg></trk></gpx>"
    )
    return path


def _world(tmp_path):
    boxes = [(-170, -55, -35, 70), (-15, -35, 180, 78), (112, -44, 154, -10)]
    features = [
        {"type": "Feature", "properties": {"featurecla": "Admin-0 country"},
         "geometry": {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]}}
        for a, b, c, d in boxes
    ]  # fmt: skip
    return _write(tmp_path / "world.geojson", features)


def _city(tmp_path):
    def line(coords, **props):
        return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}

    features = [
        {"type": "Feature", "properties": {"place": "city", "name": "Helsinki"},
         "geometry": {"type": "Point", "coordinates": [24.941, 60.171]}},
        line([[24.93, 60.165], [24.945, 60.172]], highway="primary", name="Mannerheimintie"),
        line([[24.94, 60.16], [24.952, 60.17]], highway="residential", name="Bulevardi"),
    ]  # fmt: skip
    return _write(tmp_path / "helsinki.geojson", features)


def _prompt(path, template):
    data = read_file(path)
    place, what = prompt_subject(RenderRequest([path]), data, [])
    return build_prompt(template, place, what=what)


def test_hike_prompt(tmp_path, templates):
    prompt = _prompt(_hike(tmp_path), templates["fantasy"])
    assert prompt.startswith("a hand-drawn fantasy hiking map of the mountains around Kranjska Gora in the style")
    assert "town" not in prompt


def test_world_prompt(tmp_path, templates):
    prompt = _prompt(_world(tmp_path), templates["parchment"])
    assert prompt.startswith("an antique 18th-century engraved world map, ")
    assert "town" not in prompt and "{" not in prompt


def test_city_prompt(tmp_path, templates):
    prompt = _prompt(_city(tmp_path), templates["watercolor"])
    assert prompt.startswith("a watercolor painting of a city map of Helsinki, ")


def test_every_style_fills_its_template(tmp_path, templates):
    path = _city(tmp_path)
    for name, template in templates.items():
        prompt = _prompt(path, template)
        assert "city map of Helsinki" in prompt, name
        assert "{" not in prompt and "a town" not in prompt, name


def test_a_custom_prompt_keeps_place_and_extra():
    assert build_prompt("a moonlit map of {place}", "Helsinki", "silver ink") == "a moonlit map of Helsinki, silver ink"
    assert build_prompt("a moonlit {map}", "Helsinki") == "a moonlit map of Helsinki"
    assert build_prompt("a moonlit {map}", None, what="world map") == "a moonlit world map"
    assert build_prompt("a map of {place}", None) == "a map of the area"


def test_the_prompt_names_the_place_even_when_the_title_is_custom(tmp_path):
    path = _city(tmp_path)
    data = read_file(path)
    req = RenderRequest([path], title="Our Summer")
    assert titles_for(req, data) == ("Our Summer", "60.17° N · 24.94° E")
    assert prompt_subject(req, data, []) == ("Helsinki", "city map of Helsinki")


def test_titles_for_request_choices(tmp_path):
    path = _city(tmp_path)
    data = read_file(path)
    assert titles_for(RenderRequest([path]), data) == ("Helsinki", "60.17° N · 24.94° E")
    assert titles_for(RenderRequest([path], subtitle=""), data) == ("Helsinki", None)
    assert titles_for(RenderRequest([path], title=""), data) == (None, None)  # no title: no default subtitle
    assert titles_for(RenderRequest([path], title="", subtitle="Est. 1550"), data) == (None, "Est. 1550")
