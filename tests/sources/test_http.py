"""The transport against loopback servers: User-Agent, backoff on 429/503/504, timeouts, the size bound, cancel."""

from __future__ import annotations

import threading
import time

import pytest
from werkzeug import Response

from app import __version__
from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from app.sources import SourceConfig
from app.sources.http import SourceError, download, get, retry_after
from tests.sources.conftest import start_server

FAST = SourceConfig(backoff=0.1, retries=3, max_wait=5)


@pytest.fixture
def server():
    s = start_server()
    yield s
    s.stop()


def _times(server, path):
    return [r.environ["mapbrush.t"] for r, _ in server.log if r.path == path]


def _stamp(handler):
    def wrapped(request):
        request.environ["mapbrush.t"] = time.monotonic()
        return handler(request)

    return wrapped


def test_user_agent_names_mapbrush_and_its_version(server):
    server.expect_request("/hello").respond_with_data(b"hi")
    assert get(server.url_for("/hello"), max_bytes=100, config=FAST) == b"hi"
    ((request, _),) = server.log
    assert request.headers["User-Agent"] == f"MapBrush/{__version__} (+https://github.com/mapbrush)"


def test_429_and_504_are_retried_with_growing_pauses(server):
    answers = iter([Response("slow down", 429), Response("gateway", 504), Response("ok", 200)])
    server.expect_request("/busy").respond_with_handler(_stamp(lambda r: next(answers)))
    assert get(server.url_for("/busy"), max_bytes=100, config=FAST) == b"ok"
    t = _times(server, "/busy")
    assert len(t) == 3
    assert t[1] - t[0] >= 0.1 * 0.9 and t[2] - t[1] >= 0.2 * 0.9  # backoff 0.1 s, then doubled


def test_retry_after_is_honoured(server):
    answers = iter([Response("busy", 503, headers={"Retry-After": "1"}), Response("ok", 200)])
    server.expect_request("/later").respond_with_handler(_stamp(lambda r: next(answers)))
    assert get(server.url_for("/later"), max_bytes=100, config=FAST) == b"ok"
    t = _times(server, "/later")
    assert t[1] - t[0] >= 0.95


def test_busy_for_good_is_one_plain_line_after_the_retries(server):
    server.expect_request("/down").respond_with_data("<html><body><h1>504 Gateway Time-out</h1></body></html>", 504)
    with pytest.raises(SourceError) as e:
        get(server.url_for("/down"), max_bytes=100, config=FAST, label="Overpass")
    assert len(server.log) == FAST.retries + 1
    line = e.value.one_line()
    assert "HTTP 504" in line and "busy" in line and "504 Gateway Time-out" in line and "<" not in line


def test_a_retry_after_longer_than_the_wait_budget_fails_at_once(server):
    server.expect_request("/long").respond_with_data("no", 429, headers={"Retry-After": "3600"})
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="HTTP 429"):
        get(server.url_for("/long"), max_bytes=100, config=FAST)
    assert time.monotonic() - t0 < 1 and len(server.log) == 1


def test_retry_after_as_an_http_date():
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({"Retry-After": "7"}) == 7.0 and retry_after({}) is None


def test_a_silent_server_times_out_with_one_line(server):
    def slow(request):
        time.sleep(2.5)
        return Response("late")

    server.expect_request("/slow").respond_with_handler(slow)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="stopped answering"):
        get(server.url_for("/slow"), max_bytes=100, timeout=0.5, config=FAST)
    assert time.monotonic() - t0 < 2.0


def test_nothing_listening_is_cannot_reach_at_once():
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="cannot reach"):
        get("http://127.0.0.1:9/x", max_bytes=100, timeout=5, config=FAST)
    assert time.monotonic() - t0 < 2.0


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_the_size_bound_is_refused(server, tmp_path, declared):
    body = b"x" * 300_000

    def big(request):
        if declared:
            return Response(body)
        return Response(iter([body[i : i + 10_000] for i in range(0, len(body), 10_000)]))  # chunked, no length

    server.expect_request("/big").respond_with_handler(big)
    with pytest.raises(SourceError, match="limit"):
        download(server.url_for("/big"), tmp_path, max_bytes=100_000, config=FAST)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_cancel_stops_a_dribbling_download_within_a_second(server, tmp_path):
    def dribble(request):
        def gen():
            for _ in range(100):
                yield b"<"
                time.sleep(0.1)

        return Response(gen(), content_type="application/xml")

    server.expect_request("/dribble").respond_with_handler(dribble)
    token = CancelToken()
    threading.Timer(0.6, token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        download(server.url_for("/dribble"), tmp_path, max_bytes=10**6, cancel=token, config=FAST)
    assert time.monotonic() - t0 < 0.6 + 1.0
    deadline = time.monotonic() + 2
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:  # the worker removes its file at its next chunk
        time.sleep(0.05)
    assert list(tmp_path.iterdir()) == []


def test_cancel_while_the_server_has_not_answered_yet(server):
    def stall(request):
        time.sleep(3)
        return Response("late")

    server.expect_request("/stall").respond_with_handler(stall)
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        get(server.url_for("/stall"), max_bytes=100, timeout=30, cancel=token, config=FAST)
    assert time.monotonic() - t0 < 1.3
