"""Loopback servers speaking the real protocols (Overpass interpreter, Nominatim jsonv2) and a guard that fails
any test in tests/sources that tries to connect anywhere but 127.0.0.1."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.sources.osm_samples import search_json, village_xml


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"a test tried to reach {host}: only loopback servers are allowed")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("MAPBRUSH_HTTP_BACKOFF", "0.05")
    monkeypatch.setenv("MAPBRUSH_HTTP_TIMEOUT", "5")


class Services:
    """An Overpass interpreter at /api/interpreter and Nominatim at /nominatim/{search,reverse}."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.osm: bytes | None = None  # None: a village filling the query's box; else these bytes
        self.arrivals: list[float] = []  # time.monotonic() of each Nominatim request as it arrived
        self.places = {"kranjska gora, slovenia": search_json(), "kranjska gora": search_json()}
        server.expect_request("/api/interpreter").respond_with_handler(self._overpass)
        server.expect_request("/nominatim/search").respond_with_handler(self._search)
        server.expect_request("/nominatim/reverse").respond_with_handler(self._reverse)

    @property
    def overpass_url(self) -> str:
        return self.server.url_for("/api/interpreter")

    @property
    def nominatim_url(self) -> str:
        return self.server.url_for("/nominatim")

    def _overpass(self, request):
        query = request.form.get("data") or request.args.get("data") or ""
        if "[out:xml]" not in query:
            return Response("<html><body>Error: only [out:xml] here</body></html>", 400)
        body = self.osm
        if body is None:  # the village laid out over the box asked for, as a real server's data would fill it
            s, w, n, e = (float(v) for v in re.search(r"\[bbox:([^\]]+)\]", query).group(1).split(","))
            body = village_xml((w, s, e, n))
        return Response(body, 200, content_type="application/osm3s+xml")

    def _search(self, request):
        self.arrivals.append(time.monotonic())
        assert request.args.get("format") == "jsonv2"
        q = " ".join(request.args.get("q", "").lower().split())
        return Response(json.dumps(self.places.get(q, [])), 200, content_type="application/json")

    def _reverse(self, request):
        self.arrivals.append(time.monotonic())
        lat, lon = float(request.args["lat"]), float(request.args["lon"])
        if abs(lat - 46.48) < 0.1 and abs(lon - 13.78) < 0.1:
            row = search_json()[0]
            return Response(json.dumps(row), 200, content_type="application/json")
        return Response(json.dumps({"error": "Unable to geocode"}), 200, content_type="application/json")

    def requests(self, path: str) -> list:
        return [r for r, _ in self.server.log if r.path == path]


def start_server() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    return server


@pytest.fixture
def svc():
    """Both services on a fresh loopback server (stopped afterwards unless the test stopped it)."""
    server = start_server()
    yield Services(server)
    if server.is_running():
        server.stop()


@pytest.fixture
def services(monkeypatch, fast_retries, svc):
    """`svc`, with the environment pointing the client at it."""
    monkeypatch.setenv("MAPBRUSH_OVERPASS_URL", svc.overpass_url)
    monkeypatch.setenv("MAPBRUSH_NOMINATIM_URL", svc.nominatim_url)
    return svc
