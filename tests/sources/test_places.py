"""Nominatim search and reverse (jsonv2) against a loopback server: parsing, the 1-request-a-second rule, the cache."""

from __future__ import annotations

import itertools
import time

import pytest

from app.sources import SourceConfig
from app.sources.cache import Cache
from app.sources.places import PlaceNotFound, find, reverse, search


def _config(svc, **kw):
    return SourceConfig(nominatim_url=svc.nominatim_url, backoff=0.05, **kw)


def test_search_gives_name_type_country_and_box(svc):
    (place,) = search("Kranjska Gora, Slovenia", config=_config(svc))
    assert (place.name, place.type, place.country) == ("Kranjska Gora", "village", "Slovenia")
    assert place.lat == pytest.approx(46.4845) and place.lon == pytest.approx(13.7856) and place.rank == 19
    assert place.bbox == pytest.approx((13.7706, 46.4745, 13.8006, 46.4945))  # west, south, east, north
    assert place.label() == "Kranjska Gora, village, Slovenia"
    (request,) = svc.requests("/nominatim/search")
    assert request.args["format"] == "jsonv2" and request.args["q"] == "Kranjska Gora, Slovenia"
    assert request.headers["User-Agent"].startswith("MapBrush/")


def test_reverse(svc):
    assert reverse(46.48, 13.78, config=_config(svc)).name == "Kranjska Gora"
    assert reverse(10.0, 10.0, config=_config(svc)) is None


def test_an_unknown_place_is_one_line(svc):
    with pytest.raises(PlaceNotFound, match="no place called 'Atlantis' was found") as e:
        find("  Atlantis ", config=_config(svc))
    assert e.value.exit_code == 2


def test_at_most_one_request_a_second(svc):
    config = _config(svc)
    for q in ("Kranjska Gora", "Atlantis", "Kranjska Gora, Slovenia"):
        search(q, config=config)
    arrivals = svc.arrivals
    assert len(arrivals) == 3
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.95


def test_searches_are_cached_for_offline_use(svc, tmp_path):
    config = _config(svc)
    cache = Cache(tmp_path / "cache")
    first = search("Kranjska Gora", config=config, cache=cache)
    svc.server.stop()
    t0 = time.monotonic()
    assert search("Kranjska Gora", config=config, cache=cache) == first
    assert time.monotonic() - t0 < 0.2  # a hit neither waits for its turn nor asks
