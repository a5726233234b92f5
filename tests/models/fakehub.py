"""A local HTTP server that speaks the parts of the Hugging Face hub protocol MapBrush uses.

HEAD/GET /<repo>/resolve/<rev>/<path>   (ETag, X-Repo-Commit, Content-Length, Range → 206)
POST     /api/models/<repo>/paths-info/<rev>
GET      /api/models/<repo>/tree/<rev>/<folder>?recursive=true
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "c0ffee" + "0" * 34


class FakeHub:
    def __init__(self, repos: dict[str, dict[str, bytes]]) -> None:
        self.repos = repos
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.lie_sha: set[str] = set()  # "repo/path" whose advertised sha256 is wrong
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._resolve(self, body=False)

            def do_GET(self) -> None:
                if self.path.startswith("/api/"):
                    hub._tree(self)
                else:
                    hub._resolve(self, body=True)

            def do_POST(self) -> None:
                hub._paths_info(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---------------------------------------------------------------------------------------
    def sha256(self, repo: str, path: str) -> str:
        digest = hashlib.sha256(self.repos[repo][path]).hexdigest()
        return "0" * 64 if f"{repo}/{path}" in self.lie_sha else digest

    def _entry(self, repo: str, path: str) -> dict:
        data = self.repos[repo][path]
        return {
            "type": "file",
            "path": path,
            "size": len(data),
            "oid": hashlib.sha1(data).hexdigest(),
            "lfs": {"oid": self.sha256(repo, path), "size": len(data), "pointerSize": 134},
        }

    def _resolve(self, h: BaseHTTPRequestHandler, *, body: bool) -> None:
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", urlsplit(h.path).path)
        repo, path = (m.group(1), unquote(m.group(3))) if m else ("", "")
        rng = h.headers.get("Range")
        self.requests.append((h.command, path, rng))
        data = self.repos.get(repo, {}).get(path)
        if data is None:
            h.send_response(404)
            h.send_header("X-Error-Code", "EntryNotFound")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start = 0
        if rng and body:
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
        h.send_response(206 if start else 200)
        h.send_header("ETag", f'"{self.sha256(repo, path)}"')
        h.send_header("X-Repo-Commit", COMMIT)
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Content-Length", str(len(data) - start))
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        if body:
            h.wfile.write(data[start:])

    def _json(self, h: BaseHTTPRequestHandler, payload) -> None:
        raw = json.dumps(payload).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def _paths_info(self, h: BaseHTTPRequestHandler) -> None:
        m = re.match(r"^/api/models/([^/]+/[^/]+)/paths-info/", h.path)
        repo = m.group(1)
        form = parse_qs(h.rfile.read(int(h.headers.get("Content-Length", 0))).decode())
        out = []
        for path in form.get("paths", []):
            files = self.repos.get(repo, {})
            if path in files:
                out.append(self._entry(repo, path))
            elif any(p.startswith(path + "/") for p in files):
                out.append({"type": "directory", "path": path, "oid": "d" * 40})
        self._json(h, out)

    def _tree(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        m = re.match(r"^/api/models/([^/]+/[^/]+)/tree/[^/]+/?(.*)$", parts.path)
        repo, folder = m.group(1), unquote(m.group(2))
        files = self.repos.get(repo, {})
        self._json(h, [self._entry(repo, p) for p in sorted(files) if p.startswith(folder + "/")])
