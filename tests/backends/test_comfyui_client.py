"""The ComfyUI backend against a loopback ComfyUI (tests/backends/comfy_server.py): preflight, a real render
through the server, errors, cancel, a dropped socket, a restarted server, a slow server, foreign messages, caps."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest

pytest.importorskip("websockets")

from app.backends.comfyui import graphs, preflight
from app.backends.comfyui.client import ComfyClient, ComfyError, ComfyRunError, ServerConfig, decode_image
from app.backends.comfyui.runner import ComfyEngines, status_line
from app.cli import example_inputs, main
from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from tests.backends.comfy_server import FakeComfy, png_bytes

LOADER_FILES = {
    ("UNETLoader", "unet_name"): ["z_image_turbo_bf16.safetensors", "flux-2-klein-4b.safetensors"],
    ("UnetLoaderGGUF", "unet_name"): ["z_image_turbo-Q8_0.gguf"],
    ("CLIPLoader", "clip_name"): ["qwen_3_4b.safetensors"],
    ("VAELoader", "vae_name"): ["ae.safetensors", "flux2-vae.safetensors"],
    ("ModelPatchLoader", "name"): ["Z-Image-Turbo-Fun-Controlnet-Union.safetensors"],
}


def object_info(drop_class: str | None = None, drop_file: str | tuple[str, ...] | None = None) -> dict:
    """object_info for every node our graphs use, loaders listing the files (ComfyUI's [[choices], {}] form)."""
    drop = {drop_file} if isinstance(drop_file, str) else set(drop_file or ())
    info: dict = {}
    for cls in (*graphs.NODES, "ImageScale"):
        if cls == drop_class:
            continue
        required = {}
        for (c, widget), files in LOADER_FILES.items():
            if c == cls:
                required[widget] = [[f for f in files if f not in drop], {}]
        info[cls] = {"input": {"required": required}, "output": [], "name": cls}
    return info


NO_Z_IMAGE = ("z_image_turbo_bf16.safetensors", "z_image_turbo-Q8_0.gguf")  # neither variant on the server


def config(url: str, **kw) -> ServerConfig:
    return ServerConfig(url, connect_timeout=2, read_timeout=kw.pop("read_timeout", 5), job_timeout=20, **kw)


def small_graph() -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "in.png"}},
        "2": {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["1", 0],
                "upscale_method": "nearest-exact",
                "width": 32,
                "height": 32,
                "crop": "disabled",
            },
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "t"}},
    }


def upload_and_graph(client: ComfyClient) -> dict:
    img = np.zeros((32, 48, 3), np.uint8)
    img[:, :, 0] = 240
    name = client.upload_image("in.png", png_bytes(img))
    g = small_graph()
    g["1"]["inputs"]["image"] = name
    return g


def test_round_trip_progress_and_foreign_messages_ignored():
    with FakeComfy(object_info(), steps=5) as srv:
        client = ComfyClient(config(srv.url))
        steps: list[tuple[int, int]] = []
        image = client.run(upload_and_graph(client), on_progress=lambda v, m, n: steps.append((v, m)))
        assert image.shape == (32, 48, 3) and image[0, 0, 0] == 120  # the server's (darkened) picture
        assert steps == [(i, 5) for i in range(1, 6)]  # not the other prompt's 99/99
        assert any(p.startswith("/history/") for p in srv.paths("GET"))
        assert any(p.startswith("/view?filename=mapbrush_") for p in srv.paths("GET"))
        assert any(p.startswith("/ws?clientId=" + client.client_id) for p in srv.paths("GET"))


def test_execution_error_is_one_line():
    with FakeComfy(object_info(), mode="error") as srv:
        client = ComfyClient(config(srv.url))
        with pytest.raises(ComfyRunError) as e:
            client.run(upload_and_graph(client))
        text = e.value.one_line()
        assert "\n" not in text
        assert text.startswith("the ComfyUI server failed in") and "mat1 and mat2 shapes" in text


def test_cancel_interrupts_and_deletes_from_queue():
    with FakeComfy(object_info(), mode="hang") as srv:
        client = ComfyClient(config(srv.url))
        token = CancelToken()
        threading.Timer(0.6, token.cancel).start()
        t = time.monotonic()
        with pytest.raises(Cancelled):
            client.run(upload_and_graph(client), cancel=token)
        assert time.monotonic() - t < 5
        posts = {p: b for m, p, b in srv.received if m == "POST"}
        pid = json.loads(posts["/queue"])["delete"][0]
        assert json.loads(posts["/interrupt"]) == {"prompt_id": pid}
        assert pid not in srv.prompts  # taken off the queue


def test_dropped_socket_mid_job_still_gets_the_result():
    with FakeComfy(object_info(), mode="drop") as srv:
        client = ComfyClient(config(srv.url))
        image = client.run(upload_and_graph(client))
        assert image[0, 0, 0] == 120
        assert sum(p.startswith("/ws?") for p in srv.paths("GET")) == 2  # reconnected once


def test_restarted_server_is_a_clear_error():
    with FakeComfy(object_info(), mode="restart") as srv:
        client = ComfyClient(config(srv.url))
        t = time.monotonic()
        with pytest.raises(ComfyError, match=r"lost our job|no record of our job"):
            client.run(upload_and_graph(client))
        assert time.monotonic() - t < 10


def test_slow_server_times_out_bounded():
    with FakeComfy(object_info(), mode="slow") as srv:
        client = ComfyClient(config(srv.url, read_timeout=0.5))
        t = time.monotonic()
        with pytest.raises(ComfyError, match="did not answer in time"):
            client.object_info()
        assert time.monotonic() - t < 2


def test_refused_port_is_one_line():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    client = ComfyClient(config(f"http://127.0.0.1:{port}"))
    with pytest.raises(ComfyError, match=f"cannot reach the ComfyUI server at 127.0.0.1:{port}"):
        client.system_stats()


def test_hostile_huge_response_refused():
    with FakeComfy(object_info(), mode="huge") as srv:
        client = ComfyClient(config(srv.url))
        with pytest.raises(ComfyError, match=r"too large|refused"):
            client.view("x.png")
    # a tiny file claiming 20000x20000 pixels is refused before decoding
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 100))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")
    with pytest.raises(ComfyError, match="too large"):
        decode_image(bomb)
    with pytest.raises(ComfyError, match="not a PNG"):
        decode_image(b"GIF89a" + b"\0" * 20)


def test_preflight_names_the_missing_file_and_node():
    g = graphs.build_stage(graphs.StageSpec("preview", "z-image-turbo", "q8_0", "a map", 1, 8, 512, 384)).api()
    gguf = next(n["inputs"]["unet_name"] for n in g.values() if n["class_type"] == "UnetLoaderGGUF")
    problems = preflight.missing(g, object_info(drop_file=gguf), model_name="Z-Image-Turbo")
    assert problems == [f"the server has no Z-Image-Turbo transformer; put {gguf} in models/unet"]
    problems = preflight.missing(g, object_info(drop_class="UnetLoaderGGUF"))
    assert problems == ["the server has no UnetLoaderGGUF node; install the ComfyUI-GGUF custom nodes"]
    assert preflight.missing(g, object_info()) == []


def test_cli_missing_model_on_server_is_exit_3_one_line(tmp_path, capsys):
    with FakeComfy(object_info(drop_file=NO_Z_IMAGE)) as srv:
        code = main(["render", *map(str, example_inputs()), "--engine", "preview", "--size", "320x240",
                     "--backend", "comfyui", "--comfyui-url", srv.url,
                     "-o", str(tmp_path / "m.png")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1 and "put z_image_turbo_bf16.safetensors in models/diffusion_models" in err[0]
    assert not (tmp_path / "m.png").exists()


def test_cli_render_through_the_server_to_png_with_metadata(tmp_path, capsys):
    from app.export.formats import read_metadata

    out = tmp_path / "remote.png"
    with FakeComfy(object_info()) as srv:
        code = main(["render", *map(str, example_inputs()), "--engine", "preview", "--size", "320x240",
                     "--backend", "comfyui", "--comfyui-url", srv.url, "-o", str(out)])  # fmt: skip
        uploads = dict(srv.uploads)
        prompt_posts = [b for m, p, b in srv.received if m == "POST" and p == "/prompt"]
    assert code == 0, capsys.readouterr().err
    assert any(k.endswith(graphs.SKETCH_IMAGE) for k in uploads)
    assert len(prompt_posts) == 1
    meta = read_metadata(out)
    st = meta["stages"]["preview"]
    assert meta["engine"] == "preview" and st["device"] == "comfyui" and st["server"].startswith("127.0.0.1:")
    assert st["model"] == "z-image-turbo" and 0 <= st["fidelity"] <= 1


def test_engines_without_the_model_say_so_and_status_line():
    with FakeComfy(object_info(drop_file="flux-2-klein-4b.safetensors")) as srv:
        eng = ComfyEngines(config(srv.url))
        assert eng.tier.name == "cuda-24gb"  # from the server's 24 GB
        ok, why = eng.available("final")
        assert not ok and "put flux-2-klein-4b.safetensors in models/diffusion_models" in why
        assert eng.available("preview") == (True, "")
        line = status_line(eng.config, eng.client.system_stats())
    assert line == f"ComfyUI at {srv.url[7:]} · RTX 4090 · 24 GB"


def test_batch_uses_the_server_and_repaint_refuses_it(tmp_path, capsys):
    with FakeComfy(object_info(drop_file=NO_Z_IMAGE)) as srv:
        code = main(["batch", str(example_inputs()[0]), "--out", str(tmp_path / "maps"), "--engine", "preview",
                     "--backend", "comfyui", "--comfyui-url", srv.url])  # fmt: skip
        asked = srv.paths("GET")
    assert code == 3 and "/object_info" in asked  # the server was asked, not this computer's models
    assert "put z_image_turbo_bf16.safetensors" in capsys.readouterr().err
    code = main(["render", "--repaint-from", str(tmp_path / "a.png"), "--repaint-mask", str(tmp_path / "m.png"),
                 "--engine", "preview", "--backend", "comfyui", "--comfyui-url", "http://127.0.0.1:1"])  # fmt: skip
    assert code == 2 and "this computer only" in capsys.readouterr().err
