"""Upscale for print on the tiny packs (CPU): tiles at the model's size, progress, cancel, memory, the ladder,
and through render(): metadata, fidelity on the full-size picture, --upscale off as before."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from app.errors import Cancelled
from app.inference import api
from app.inference.manager import ModelManager
from app.inference.upscale import refine_tiles
from app.jobs.cancel import CancelToken
from app.render.tiles import plan_grid


@pytest.fixture(scope="module")
def manager():
    m = ModelManager()
    yield m
    m.unload()


def _pictures(w=160, h=112):
    y, x = np.mgrid[0:h, 0:w]
    painting = np.full((h, w, 3), 230, np.uint8)
    painting[(x // 20 + y // 20) % 2 == 0] = (90, 140, 200)
    painting[:, w // 2] = 20
    base = np.clip(painting.astype(int) + 10, 0, 255).astype(np.uint8)
    return base, painting


def test_tiles_run_one_at_a_time_at_the_tile_size_with_progress(manager, plans):
    base, painting = _pictures()
    grid = plan_grid((160, 112), 64, 8)
    assert (grid.rows, grid.cols) == (2, 3)
    plan = plans.preview()
    seen = []  # the VAE decoder's input sizes
    pipe = manager.pipeline(api.family_module("z_image").pipeline_key(plan), lambda m: api.family_module(
        "z_image").build(m, plan))  # fmt: skip
    hooks = [pipe.vae.decoder.register_forward_pre_hook(lambda mod, a: seen.append(("vae", tuple(a[0].shape))))]
    events = []
    try:
        out = refine_tiles(manager, plan, grid, base=base, painting=painting, scale=2.0, prompt="map", strength=0.3,
                           seed=1, progress=lambda *a: events.append(a))  # fmt: skip
    finally:
        for h in hooks:
            h.remove()
    assert out.image.shape == (112, 160, 3) and out.image.dtype == np.uint8
    m = out.steps
    assert 1 < m < 8  # strength 0.3 runs a few of the 8 steps
    decodes = [s for k, s in seen if k == "vae"]
    assert len(decodes) == grid.count and all(s[-2:] == (8, 8) for s in decodes)  # 64 px tiles, one at a time
    ups = [e for e in events if e[0] == "upscale"]
    msgs = [e[3] for e in ups if "step" in e[3]]
    assert msgs[0].startswith(f"upscale: tile 1 of 6, step 1 of {m}") and "s left" in msgs[0]
    assert any(x.startswith(f"upscale: tile 6 of 6, step {m} of {m}") for x in msgs)
    assert [e[1] for e in ups if "step" in e[3]] == list(range(1, 6 * m + 1)) and ups[-1][1:3] == (6 * m, 6 * m)


def test_klein_takes_each_tile_as_its_reference(manager, plans):
    base, painting = _pictures(112, 64)
    grid = plan_grid((112, 64), 64, 8)
    structure = np.full_like(painting, 255)
    out = refine_tiles(manager, plans.final(), grid, base=base, painting=painting, structure=structure, scale=2.0,
                       prompt="map", seed=2)  # fmt: skip
    assert out.image.shape == (64, 112, 3) and out.steps == 4 and out.image.std() > 1


def test_cancel_mid_way_raises_cancelled(manager, plans):
    base, painting = _pictures()
    token = CancelToken()
    tiles_started = []

    def progress(stage, step, total, message=""):
        if stage == "upscale" and "tile 3 of" in message:
            tiles_started.append(step)
            token.cancel()

    with pytest.raises(Cancelled):
        refine_tiles(manager, plans.preview(), plan_grid((160, 112), 64, 8), base=base, painting=painting, scale=2.0,
                     prompt="map", progress=progress, cancel=token)  # fmt: skip
    assert len(tiles_started) == 1  # stopped at the step after it was asked, in tile 3


def test_out_of_memory_in_a_tile_shrinks_it_and_the_rest_follow(manager, plans):
    base, painting = _pictures()
    plan = plans.preview()
    pipe = manager.pipeline(api.family_module("z_image").pipeline_key(plan), None)
    count = {"n": 0}

    def hook(module, args, kwargs=None):
        count["n"] += 1
        if count["n"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    handle = pipe.transformer.register_forward_pre_hook(hook)
    notes = []
    try:
        out = refine_tiles(manager, plan, plan_grid((160, 112), 64, 8), base=base, painting=painting, scale=2.0,
                           prompt="map", notes=notes)  # fmt: skip
    finally:
        handle.remove()
    assert out.image.shape == (112, 160, 3)
    assert len(notes) == 1 and "48×48" in notes[0]  # said once; the tiles after it start at 48 px
    assert (out.plan.width, out.plan.height) == (64, 64)


# --- through render() -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory, packs):
    from app.jobs.ai import Engines

    e = Engines(tmp_path_factory.mktemp("models"), "cpu")
    for name in ("z_image", "klein"):
        e.store.import_path(packs[name])
    tier = e.tier  # the CPU tier at a tiny resolution, so the tiny packs paint 64 px tiles
    e._tier = replace(tier, preview=replace(tier.preview, resolution=64), final=replace(tier.final, resolution=64))
    return e


def _request(size, **kw):
    from app.cli import example_inputs
    from app.jobs.render import RenderRequest

    return RenderRequest(inputs=example_inputs(), style="ink", size=size, engine="preview", seed=4, **kw)


def test_render_upscales_by_default_and_records_the_grid(engines, tmp_path):
    from app.export.metadata import format_parameters
    from app.inference.fidelity import edge_f1
    from app.jobs.render import render_to_file

    events = []
    out = tmp_path / "big.png"
    res = render_to_file(_request((192, 144)), out, engines=engines, keep=True,
                         progress=lambda *a: events.append(a))  # fmt: skip
    up = res.metadata["upscale"]
    assert up["mode"] == "auto" and up["from"] == [80, 48]  # 2.4x the stage picture's long side
    assert (up["rows"], up["cols"], up["tile"], up["overlap"]) == (3, 4, [64, 64], 8)
    assert up["strength"] == 0.3 and up["guide"] == "img2img" and up["model"] == "z-image-turbo"
    assert res.metadata["fidelity"] == up["fidelity"]
    assert up["fidelity"] == round(edge_f1(res.stages["preview"], res.layers.structure), 4)  # full size
    assert res.stages["preview"].shape == (144, 192, 3)
    assert any(e[0] == "upscale" and "tile 12 of 12" in e[3] for e in events)
    assert 'Upscale: "3x4 tiles of 64 px, overlap 8' in format_parameters(res.metadata)
    assert out.exists()


def test_upscale_off_is_the_plain_lanczos_enlargement(engines):
    from app.jobs.ai import _resize
    from app.jobs.render import render

    res = render(_request((192, 144), upscale="off"), engines=engines)
    assert "upscale" not in res.metadata
    plan, _ = engines.plan("preview", (192, 144))
    info = res.metadata["stages"]["preview"]
    alone = api.generate(engines.manager, plan, prompt=res.metadata["prompt"], image=res.sketch,
                         strength=info["strength"], seed=4)  # fmt: skip
    assert np.array_equal(res.stages["preview"], _resize(alone, (192, 144)))
    small = render(_request((80, 60)), engines=engines)  # 1.25x: auto leaves it
    assert "upscale" not in small.metadata


def test_cancel_during_the_upscale_writes_nothing(engines, tmp_path):
    from app.jobs.render import render_to_file

    token = CancelToken()

    def progress(stage, step, total, message=""):
        if stage == "upscale" and step >= 3:
            token.cancel()

    out = tmp_path / "never.png"
    with pytest.raises(Cancelled):
        render_to_file(_request((192, 144), upscale="on"), out, engines=engines, progress=progress, cancel=token)
    assert not out.exists() and not list(tmp_path.iterdir())
