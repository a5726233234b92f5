"""A loopback ComfyUI for tests: the documented HTTP routes and the /ws websocket on one port of 127.0.0.1.

Threaded, bounded in time (every wait is short; the server shuts itself down after `lifetime` seconds), and it
records what it received so tests can check e.g. that a cancel sent /interrupt and a queue delete.
`mode` picks a behaviour for the next jobs: ok, error, hang (runs until interrupted), drop (closes the socket
mid-job), restart (forgets the job mid-run), slow (answers /object_info too late), huge (a hostile /view).
`models` ({folder: [files]}) serves /models and /models/<folder> as ComfyUI 0.2+ does; None: an older server
without those routes (404), whose files are only in object_info's loader choices.
`tls` (an ssl.SSLContext for the server side) serves https and wss on the same port instead of http and ws.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import socketserver
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image
from websockets.server import ServerProtocol
from websockets.sync.server import ServerConnection


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


class FakeComfy:
    def __init__(self, object_info: dict, *, mode: str = "ok", steps: int = 4, lifetime: float = 60.0,
                 models: dict[str, list[str]] | None = None, tls=None) -> None:  # fmt: skip
        self.object_info = object_info
        self.models = models
        self.mode = mode
        self.steps = steps
        self.received: list[tuple[str, str, bytes]] = []
        self.uploads: dict[str, bytes] = {}
        self.prompts: dict[str, dict] = {}
        self.history: dict[str, dict] = {}
        self.outputs: dict[str, bytes] = {}
        self.sockets: dict[str, list[ServerConnection]] = {}
        self.interrupted = threading.Event()
        self.tls_handshakes = 0
        self.tls_failures = 0
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self._server = _TCP(("127.0.0.1", 0), self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._front = _TLSFront(self, tls, self._server.server_address) if tls is not None else None
        if self._front is not None:
            self.url = f"https://127.0.0.1:{self._front.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> FakeComfy:
        if self._front is not None:
            kw = {"poll_interval": 0.05}
            threading.Thread(target=self._front.serve_forever, kwargs=kw, daemon=True).start()
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        if self._front is not None:
            self._front.shutdown()
            self._front.server_close()
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            conns = [c for cs in self.sockets.values() for c in cs]
        for c in conns:
            c.close()

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _ in self.received if method in (None, m)]

    # ----- websocket ------------------------------------------------------------------------------------------
    def send(self, client_id: str, kind: str, data: dict) -> None:
        with self.lock:
            conns = list(self.sockets.get(client_id, []))
        for c in conns:
            with contextlib.suppress(Exception):  # a socket the test dropped
                c.send(json.dumps({"type": kind, "data": data}))

    def drop(self, client_id: str) -> None:
        with self.lock:
            conns = self.sockets.pop(client_id, [])
        for c in conns:
            c.socket.close()  # no closing handshake: the line just goes dead

    # ----- a job ----------------------------------------------------------------------------------------------
    def run_job(self, pid: str, client_id: str, graph: dict) -> None:
        mode = self.mode
        send = lambda kind, **d: self.send(client_id, kind, {"prompt_id": pid, **d})  # noqa: E731
        time.sleep(0.1)
        send("execution_start", timestamp=0)
        send("execution_cached", nodes=[])
        # another user's job, on the same server, reported on our socket: a client must ignore it
        other = uuid.uuid4().hex
        self.send(client_id, "executing", {"node": None, "prompt_id": other})
        self.send(client_id, "progress", {"value": 99, "max": 99, "prompt_id": other, "node": "3"})
        sampler = next((k for k, n in graph.items() if "Sampler" in n.get("class_type", "")), "3")
        send("executing", node=sampler, display_node=sampler)
        for step in range(1, self.steps + 1):
            if mode == "hang":
                for _ in range(100):  # at most 10 s
                    if self.interrupted.wait(0.1):
                        break
                if self.interrupted.is_set():
                    send("execution_interrupted", node_id=sampler, node_type="KSampler", executed=[])
                    self.history[pid] = {"outputs": {}, "status": {"status_str": "error", "completed": False,
                                         "messages": [["execution_interrupted", {"prompt_id": pid}]]}}  # fmt: skip
                    return
            if mode == "error" and step == 2:
                err = {
                    "node_id": sampler,
                    "node_type": "KSampler",
                    "exception_type": "RuntimeError",
                    "exception_message": "mat1 and mat2 shapes cannot be multiplied",
                    "traceback": ["..."],
                }
                send("execution_error", **err)
                self.history[pid] = {"outputs": {}, "status": {"status_str": "error", "completed": False,
                                     "messages": [["execution_error", {"prompt_id": pid, **err}]]}}  # fmt: skip
                return
            if mode == "drop" and step == 2:
                self.drop(client_id)
            if mode == "restart" and step == 2:
                self.drop(client_id)
                with self.lock:
                    self.prompts.pop(pid, None)
                return  # the job is gone: no history, not in the queue
            send("progress", value=step, max=self.steps, node=sampler)
            time.sleep(0.05)
        # the result: the uploaded sketch, darkened, so a test can tell it went through the server
        loads = [n["inputs"]["image"] for n in graph.values() if n.get("class_type") == "LoadImage"]
        src = self.uploads.get(loads[0]) if loads else None
        img = np.asarray(Image.open(io.BytesIO(src)).convert("RGB")) if src else np.full((64, 64, 3), 200, np.uint8)
        name = f"mapbrush_{pid[:8]}_00001_.png"
        self.outputs[name] = png_bytes((img // 2).astype(np.uint8))
        save = next((k for k, n in graph.items() if n.get("class_type") == "SaveImage"), "9")
        images = [{"filename": name, "subfolder": "", "type": "output"}]
        send("executed", node=save, display_node=save, output={"images": images})
        self.history[pid] = {"prompt": [0, pid, graph, {}, [save]], "outputs": {save: {"images": images}},
                             "status": {"status_str": "success", "completed": True, "messages": []}}  # fmt: skip
        with self.lock:
            self.prompts.pop(pid, None)
        send("executing", node=None)
        send("execution_success")


class _TCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, fake: FakeComfy) -> None:
        self.fake = fake
        super().__init__(addr, _Dispatch)


class _TLSFront(socketserver.ThreadingTCPServer):
    """https and wss in front of the plain server: each connection's TLS is ended here and its bytes are piped to
    the plain port (one thread a connection, select over both sockets; every wait bounded)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeComfy, ctx, target: tuple[str, int]) -> None:
        self.fake, self.ctx, self.target = fake, ctx, target
        super().__init__(("127.0.0.1", 0), _Pipe)


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        import select

        front: _TLSFront = self.server
        raw: socket.socket = self.request
        raw.settimeout(5)
        try:
            tls = front.ctx.wrap_socket(raw, server_side=True)
        except OSError:  # the client refused our certificate, or spoke plain http to us
            front.fake.tls_failures += 1
            return
        front.fake.tls_handshakes += 1
        with tls, socket.create_connection(front.target, timeout=5) as plain:
            deadline = time.monotonic() + front.fake.lifetime
            while time.monotonic() < deadline:
                ready = [tls] if tls.pending() else select.select([tls, plain], [], [], 0.2)[0]
                try:
                    for src, dst in ((tls, plain), (plain, tls)):
                        if src in ready:
                            data = src.recv(65536)
                            if not data:
                                return
                            dst.sendall(data)
                except OSError:
                    return


class _Dispatch(socketserver.BaseRequestHandler):
    """Peek at the request head: a websocket upgrade goes to `websockets`, the rest to http.server."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        head = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in head and time.monotonic() < deadline:
            try:
                head = sock.recv(8192, socket.MSG_PEEK)
            except OSError:
                return
            if not head:
                return
            if b"\r\n\r\n" not in head:
                time.sleep(0.01)
        if b"upgrade: websocket" in head.lower():
            self._websocket(sock, head)
        else:
            _Http(sock, self.client_address, self.server)

    def _websocket(self, sock, head: bytes) -> None:
        fake: FakeComfy = self.server.fake
        fake.received.append(("GET", head.split(b" ")[1].decode(), b""))
        client_id = parse_qs(urlsplit(head.split(b" ")[1].decode()).query).get("clientId", [""])[0]
        sock.settimeout(None)
        conn = ServerConnection(sock, ServerProtocol(max_size=2**20), _NoServer(), ping_interval=None)
        try:
            conn.handshake(timeout=5)
        except Exception:
            return
        with fake.lock:
            fake.sockets.setdefault(client_id, []).append(conn)
        conn.send(json.dumps({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}},
                                                         "sid": client_id}}))  # fmt: skip
        try:
            for _ in conn:  # clients send nothing; this returns when the socket closes
                pass
        except Exception:
            pass


class _NoServer:
    """What websockets' ServerConnection asks of its Server: whether the listening socket is closed."""

    socket_closed = threading.Event()


class _Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):  # the client gave up
            super().handle()

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes, ctype: str = "application/json", length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode())

    def do_GET(self) -> None:
        fake: FakeComfy = self.server.fake
        fake.received.append(("GET", self.path, b""))
        url = urlsplit(self.path)
        if url.path == "/object_info":
            if fake.mode == "slow":
                time.sleep(2.0)
            return self._json(fake.object_info)
        if url.path.startswith("/object_info/"):
            cls = url.path.rsplit("/", 1)[1]
            return self._json({cls: fake.object_info[cls]} if cls in fake.object_info else {})
        if url.path == "/models" and fake.models is not None:
            return self._json(sorted(fake.models))
        if url.path.startswith("/models/") and fake.models is not None:
            folder = url.path.rsplit("/", 1)[1]
            if folder in fake.models:
                return self._json(fake.models[folder])
        if url.path == "/system_stats":
            return self._json({"system": {"os": "posix", "comfyui_version": "0.3.0", "python_version": "3.12"},
                               "devices": [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda",
                                            "vram_total": 24 * 2**30, "vram_free": 20 * 2**30}]})  # fmt: skip
        if url.path.startswith("/history/"):
            pid = url.path.rsplit("/", 1)[1]
            return self._json({pid: fake.history[pid]} if pid in fake.history else {})
        if url.path == "/queue":
            with fake.lock:
                running = [[0, pid, g, {}, []] for pid, g in fake.prompts.items()]
            return self._json({"queue_running": running, "queue_pending": []})
        if url.path == "/view":
            q = parse_qs(url.query)
            name = q.get("filename", [""])[0]
            if fake.mode == "huge":  # says 4 GB and starts sending: a client must stop reading
                return self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 65536, "image/png", length=4 * 2**30)
            if name in fake.outputs:
                return self._send(200, fake.outputs[name], "image/png")
            return self._send(404, b"not found", "text/plain")
        self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        fake: FakeComfy = self.server.fake
        body = self._body()
        fake.received.append(("POST", self.path, body))
        if self.path == "/upload/image":
            name, data = _multipart_image(self.headers.get("Content-Type", ""), body)
            fake.uploads[name] = data
            return self._json({"name": name, "subfolder": "", "type": "input"})
        if self.path == "/prompt":
            req = json.loads(body)
            graph, client_id = req["prompt"], req.get("client_id", "")
            missing = [n["class_type"] for n in graph.values() if n["class_type"] not in fake.object_info]
            if missing:
                text = f"Cannot execute because node {missing[0]} does not exist."
                return self._json({"error": {"type": "invalid_prompt", "message": text}, "node_errors": {}}, 400)
            pid = str(uuid.uuid4())
            with fake.lock:
                fake.prompts[pid] = graph
            threading.Thread(target=fake.run_job, args=(pid, client_id, graph), daemon=True).start()
            return self._json({"prompt_id": pid, "number": len(fake.prompts), "node_errors": {}})
        if self.path == "/interrupt":
            fake.interrupted.set()
            return self._send(200, b"")
        if self.path == "/queue":
            req = json.loads(body or b"{}")
            with fake.lock:
                for pid in req.get("delete", []):
                    fake.prompts.pop(pid, None)
            return self._send(200, b"")
        self._send(404, b"not found", "text/plain")


def _multipart_image(ctype: str, body: bytes) -> tuple[str, bytes]:
    boundary = ctype.split("boundary=", 1)[1].encode()
    for part in body.split(b"--" + boundary):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="image"' in head:
            name = head.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
            return name, data[:-2] if data.endswith(b"\r\n") else data
    raise ValueError("no image part")
