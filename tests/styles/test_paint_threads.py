"""The painter shares its bands among the cores (filters.each_band, issue 14 §6): the picture is the same bytes as
painting the bands one after another, in every style, and a band's own band work never waits on the pool."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app import parallel
from app.jobs.render import RenderRequest, _scene_and_layers, load, request_style
from app.styles import filters
from app.styles.painter import paint

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
STYLES = ["blueprint", "fantasy", "ink", "noir", "parchment", "poster", "watercolor"]


@pytest.fixture(scope="module")
def demo_layers():
    inputs = [EXAMPLES / "harbour_town.geojson", EXAMPLES / "harbour_hike.gpx"]
    data = load(inputs)
    out = {}
    for style in STYLES:
        req = RenderRequest(inputs=inputs, style=style, size=(640, 480), seed=3)
        st = request_style(req)
        out[style] = (_scene_and_layers(req, data, st, {}, structure=False)[1], st)
    return out


@pytest.mark.parametrize("style", STYLES)
def test_painting_on_several_threads_gives_the_same_bytes(style, demo_layers, monkeypatch):
    layers, st = demo_layers[style]
    monkeypatch.setattr(filters, "BAND_PIXELS", 20_000)  # 31 rows a band: dozens of bands, run out of order
    monkeypatch.setattr(filters.bands, "__defaults__", (20_000,))
    monkeypatch.setattr(filters.each_band, "__defaults__", (20_000,))
    monkeypatch.setattr(parallel, "THREADS", 1)
    alone = paint(layers, st, seed=5)
    parallel.shutdown()
    monkeypatch.setattr(parallel, "THREADS", 4)
    try:
        shared = paint(layers, st, seed=5)
    finally:
        parallel.shutdown()
    assert np.array_equal(alone, shared)


def test_each_band_keeps_order_runs_nested_work_in_its_thread_and_raises(monkeypatch):
    parallel.shutdown()
    monkeypatch.setattr(parallel, "THREADS", 3)
    seen = []

    def outer(b):
        inner = filters.each_band(4, 10, lambda c: threading.get_ident(), pixels=10)
        seen.append(set(inner) == {threading.get_ident()})  # nested: every inner band on this very thread
        return b.start

    starts = filters.each_band(50, 10, outer, pixels=100)
    assert starts == list(range(0, 50, 10))
    assert seen == [True] * 5

    def boom(b):
        if b.start == 20:
            raise ValueError("band 20")
        return b.start

    with pytest.raises(ValueError, match="band 20"):
        filters.each_band(50, 10, boom, pixels=100)
    parallel.shutdown()
