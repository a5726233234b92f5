"""Overpass through a loopback interpreter: the query, the cache (also with the server gone), and every way an
answer can be bad (a remark, malformed or truncated XML, an entity bomb, too large), none of which is cached."""

from __future__ import annotations

import pytest
from werkzeug import Response

from app.errors import InputError
from app.mapdata.io import read_file
from app.mapdata.model import Kind
from app.sources import SourceConfig
from app.sources import overpass as op
from app.sources.cache import Cache
from app.sources.http import SourceError
from tests.sources.osm_samples import bomb_xml, remark_xml, village_xml

BOX = (13.755, 46.470, 13.805, 46.495)


def _config(svc, tmp_path, **kw):
    return SourceConfig(overpass_url=svc.overpass_url, cache_dir=tmp_path / "cache", backoff=0.05, **kw)


def _nothing_cached(cache: Cache) -> bool:
    tmp = cache.root / "tmp"
    return cache.info() == (0, 0) and (not tmp.exists() or not any(tmp.iterdir()))


def test_fetch_reads_like_a_file_and_the_query_is_polite(svc, tmp_path):
    config = _config(svc, tmp_path)
    path = op.fetch_osm(BOX, cache=Cache.from_config(config), config=config, query_name="Kranjska Gora")
    (request,) = svc.requests("/api/interpreter")
    query = request.form["data"]
    assert query.startswith("[out:xml][timeout:") and "[maxsize:" in query and "[bbox:46.470000,13.755000," in query
    assert "wr[natural];" in query  # full detail: natural=coastline among the rest
    data = read_file(path)
    kinds = data.counts()
    assert kinds["building"] == 84 and kinds["forest"] == 2 and kinds["water"] == 1 and kinds["waterway"] == 1
    assert "Kranjska Gora" in set(data.names) and data.extent == pytest.approx(BOX)  # <bounds> of the box asked for
    meta = op.entry_meta(path)
    assert meta["name"] == "Kranjska Gora" and meta["attribution"] == "© OpenStreetMap contributors"
    assert meta["fetched"].endswith("Z") and meta["query"] == query


def test_a_cache_hit_needs_no_server(svc, tmp_path):
    config = _config(svc, tmp_path)
    cache = Cache.from_config(config)
    first = op.fetch_osm(BOX, cache=cache, config=config)
    svc.server.stop()
    again = op.fetch_osm(BOX, cache=cache, config=config)
    assert again == first and len(read_file(again)) == len(read_file(first))


def test_expired_entry_is_used_offline_with_a_warning(svc, tmp_path):
    config = _config(svc, tmp_path)
    op.fetch_osm(BOX, cache=Cache.from_config(config), config=config)
    svc.server.stop()
    stale = Cache(config.cache_dir, max_age=0)
    notes = []
    path = op.fetch_osm(BOX, cache=stale, config=config, warnings=notes)
    assert path.exists() and any("could not refresh" in n and "cannot reach" in n for n in notes)


def test_a_remark_is_an_error_and_is_never_cached(svc, tmp_path):
    config = _config(svc, tmp_path)
    cache = Cache.from_config(config)
    svc.osm = remark_xml()
    with pytest.raises(SourceError, match="Query timed out") as e:
        op.fetch_osm(BOX, cache=cache, config=config)
    assert "\n" not in e.value.one_line() and _nothing_cached(cache)
    svc.osm = None
    op.fetch_osm(BOX, cache=cache, config=config)  # the next try asks again
    assert len(svc.requests("/api/interpreter")) == 2


def test_a_remark_after_partial_data_is_an_error(svc, tmp_path):
    config = _config(svc, tmp_path)
    svc.osm = village_xml().replace(b"</osm>", b'<remark> runtime error: Query run out of memory using about 2048 MB '
                                    b"of RAM. </remark>\n</osm>")  # fmt: skip
    with pytest.raises(SourceError, match="out of memory"):
        op.fetch_osm(BOX, cache=Cache.from_config(config), config=config)


@pytest.mark.parametrize(
    "body,words",
    [
        (village_xml()[:-4000], "cut off"),  # the connection dropped: no </osm>
        (village_xml().replace(b"<way ", b"<way <", 1), "malformed"),
        (bomb_xml(), "entit"),
        (b'{"version": 0.6, "elements": []}', "not OpenStreetMap XML|malformed"),
    ],
)
def test_bad_answers_are_one_line_and_leave_nothing(svc, tmp_path, body, words):
    config = _config(svc, tmp_path)
    cache = Cache.from_config(config)
    svc.osm = body
    with pytest.raises(SourceError, match=words):
        op.fetch_osm(BOX, cache=cache, config=config)
    assert _nothing_cached(cache)


def test_an_oversize_answer_is_refused_and_not_kept(svc, tmp_path, monkeypatch):
    monkeypatch.setattr(op, "MAX_BYTES", 20_000)
    config = _config(svc, tmp_path)
    cache = Cache.from_config(config)
    with pytest.raises(SourceError, match="limit"):
        op.fetch_osm(BOX, cache=cache, config=config)
    assert _nothing_cached(cache)


def test_overpass_busy_is_retried(svc, tmp_path):
    config = _config(svc, tmp_path)
    answers = [Response("rate_limited", 429), Response("Gateway Timeout", 504)]
    ok = svc._overpass
    svc.server.clear_all_handlers()
    svc.server.expect_request("/api/interpreter").respond_with_handler(lambda r: answers.pop(0) if answers else ok(r))
    path = op.fetch_osm(BOX, cache=Cache.from_config(config), config=config)
    assert path.exists() and len(svc.server.log) == 3


def test_the_area_cap_fetches_less_and_says_what_was_left_out():
    assert op.detail_for(BOX).name == "full"
    town = (13.70, 46.45, 13.80, 46.52)  # about 60 km²
    assert op.detail_for(town).name == "town" and "buildings" in op.left_out_warning(town, op.detail_for(town))
    wide = (13.4, 46.3, 14.2, 46.7)  # about 2,800 km²
    d = op.detail_for(wide)
    q = op.build_query(wide, d)
    assert d.name == "country" and "way[natural=coastline];" in q and "building" not in q
    assert "motorway" in q and "waterway=river" in q and "place~" in q
    with pytest.raises(InputError, match="too large"):
        op.detail_for((0, 40, 10, 50))


def test_coast_reaches_the_reader_as_sea(svc, tmp_path):
    # a coast across the box drawn west to east (land on its left, the north): the sea closes within <bounds>
    w, s, e, n = BOX
    y = (s + n) / 2
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API">\n'
        f'<node id="1" lat="{y}" lon="{e + 0.01}"/><node id="2" lat="{y + 0.001}" lon="{(w + e) / 2}"/>'
        f'<node id="3" lat="{y}" lon="{w - 0.01}"/><node id="4" lat="{y + 0.005}" lon="{(w + e) / 2}">'
        '<tag k="place" v="town"/><tag k="name" v="Seaside"/></node>'
        '<way id="10"><nd ref="3"/><nd ref="2"/><nd ref="1"/><tag k="natural" v="coastline"/></way>\n</osm>\n'
    )
    svc.osm = xml.encode()
    config = _config(svc, tmp_path)
    data = read_file(op.fetch_osm(BOX, cache=Cache.from_config(config), config=config))
    sea = [g for g, k in zip(data.geometries, data.kinds) if k is Kind.SEA]
    assert len(sea) == 1 and sea[0].bounds[1] == pytest.approx(s) and sea[0].bounds[3] < n
