"""The client against a real ComfyUI (optional): MAPBRUSH_TEST_COMFYUI=http://127.0.0.1:8188 to run it.

A graph that needs no models (LoadImage → ImageScale → SaveImage): upload, queue, follow, history, view, interrupt.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

URL = os.environ.get("MAPBRUSH_TEST_COMFYUI", "")
pytestmark = pytest.mark.skipif(not URL.startswith(("http://", "https://")),
                                reason="MAPBRUSH_TEST_COMFYUI is not set to a ComfyUI URL")  # fmt: skip


def _client():
    from app.backends.comfyui.client import ComfyClient, ServerConfig

    return ComfyClient(ServerConfig(URL, connect_timeout=5, read_timeout=60, job_timeout=120))


def _graph(client, width=40, height=24) -> dict:
    from tests.backends.comfy_server import png_bytes

    img = np.zeros((32, 48, 3), np.uint8)
    img[:, :24] = (230, 40, 20)
    img[:, 24:] = (20, 40, 230)
    name = client.upload_image(f"{client.client_id[:8]}-live.png", png_bytes(img))
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["1", 0],
                "upscale_method": "nearest-exact",
                "width": width,
                "height": height,
                "crop": "disabled",
            },
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "mapbrush_live"}},
    }


def test_live_round_trip():
    from app.backends.comfyui.runner import describe

    client = _client()
    assert "LoadImage" in client.object_info("LoadImage")
    assert describe(client.system_stats()).get("comfyui")
    image = client.run(_graph(client, width=40 + int(time.time()) % 7 * 2))  # a new size: never cached
    assert image.shape[0] == 24 and image.shape[1] in range(40, 54)
    assert image[0, 0, 0] > 200 and image[0, -1, 2] > 200  # red left, blue right: our picture, scaled


def test_live_cancel_interrupts_and_leaves_nothing_queued():
    from app.errors import Cancelled
    from app.jobs.cancel import CancelToken

    client = _client()
    token = CancelToken()
    token.cancel()
    sent = []
    real = client.post_json
    client.post_json = lambda path, payload: (sent.append(path), real(path, payload))[1]
    with pytest.raises(Cancelled):
        client.run(_graph(client, width=64, height=64), cancel=token)
    assert sent[-2:] == ["/interrupt", "/queue"]
    for _ in range(100):  # a running item stops at its next node; a pending one is gone at once (10 s at most)
        q = client.get_json("/queue")
        ours = [i for i in q["queue_pending"] + q["queue_running"] if i[3].get("client_id") == client.client_id]
        if not ours:
            break
        time.sleep(0.1)
    assert ours == []
