"""generate(): preview (img2img, ControlNet), final, seeds, progress, cancel, out-of-memory ladder."""

import numpy as np
import pytest
import torch

from app.errors import Cancelled, OutOfMemory
from app.inference import api
from app.inference.manager import ModelManager
from app.jobs.cancel import CancelToken


@pytest.fixture(scope="module")
def manager():
    m = ModelManager()
    yield m
    m.unload()


def _check_image(out, w=64, h=64):
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    assert out.std() > 1.0  # not a flat image


def test_preview_img2img_follows_strength(manager, plans, painting):
    events = {0.25: [], 1.0: []}
    outs = {
        s: api.generate(
            manager,
            plans.preview(),
            prompt="map",
            image=painting,
            strength=s,
            seed=3,
            progress=lambda *a, s=s: events[s].append(a),
        )
        for s in events
    }
    for out in outs.values():
        _check_image(out)
    assert not np.array_equal(outs[0.25], outs[1.0])
    totals = {s: [e for e in ev if e[0] == "denoise"][-1] for s, ev in events.items()}
    assert totals[0.25][2] == 2 and totals[1.0][2] == 8  # strength decides how many of the 8 steps run
    assert totals[1.0][1] == 8 and "left" in totals[1.0][3]


def test_preview_controlnet(manager, plans, structure):
    out = api.generate(manager, plans.controlnet(), prompt="map", control=structure, seed=1)
    _check_image(out)


def test_final_with_references_is_reproducible(manager, plans, painting):
    a = api.generate(manager, plans.final(), prompt="map", image=painting, references=[painting], seed=7)
    b = api.generate(manager, plans.final(), prompt="map", image=painting, references=[painting], seed=7)
    c = api.generate(manager, plans.final(), prompt="map", image=painting, references=[painting], seed=8)
    _check_image(a)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_preview_seed_reproducible(manager, plans, painting):
    a = api.generate(manager, plans.preview(), prompt="map", image=painting, strength=0.9, seed=11)
    b = api.generate(manager, plans.preview(), prompt="map", image=painting, strength=0.9, seed=11)
    assert np.array_equal(a, b)


def test_cancel_mid_run_then_the_pipeline_is_reusable(manager, plans, painting):
    token = CancelToken()
    steps = []

    def progress(stage, step, total, message=""):
        if stage == "denoise" and step >= 1:
            steps.append(step)
            if step == 2:
                token.cancel()

    with pytest.raises(Cancelled):
        api.generate(
            manager,
            plans.preview(),
            prompt="map",
            image=painting,
            strength=1.0,
            seed=1,
            progress=progress,
            cancel=token,
        )
    assert steps == [1, 2]  # stopped at the next step boundary
    builds = manager.stats["pipeline_builds"]
    out = api.generate(manager, plans.preview(), prompt="map", image=painting, strength=1.0, seed=1)
    _check_image(out)
    assert manager.stats["pipeline_builds"] == builds


def _inject_oom(pipe, times):
    """Raise torch.OutOfMemoryError from the transformer's forward the first `times` calls."""
    count = {"n": 0}

    def hook(module, args, kwargs=None):
        count["n"] += 1
        if count["n"] <= times:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    return pipe.transformer.register_forward_pre_hook(hook), count


def test_out_of_memory_retries_at_lower_resolution_and_says_so(manager, plans, painting):
    plan = plans.preview()
    key = api.family_module("z_image").pipeline_key(plan)
    api.generate(manager, plan, prompt="map", image=painting, seed=1)
    handle, _ = _inject_oom(manager.pipeline(key, None), times=1)
    notes, messages = [], []
    try:
        out = api.generate(
            manager,
            plan,
            prompt="map",
            image=painting,
            seed=1,
            notes=notes,
            progress=lambda s, i, t, m="": messages.append(m),
        )
    finally:
        handle.remove()
    assert out.shape == (64, 64, 3)  # enlarged back to the plan's size
    assert len(notes) == 1 and "48×48" in notes[0]
    assert notes[0] in messages


def test_out_of_memory_everywhere_is_a_plain_error(manager, plans, painting):
    plan = plans.preview()
    key = api.family_module("z_image").pipeline_key(plan)
    api.generate(manager, plan, prompt="map", image=painting, seed=1)
    handle, count = _inject_oom(manager.pipeline(key, None), times=100)
    try:
        with pytest.raises(OutOfMemory, match="Not enough memory"):
            api.generate(manager, plan, prompt="map", image=painting, seed=1)
    finally:
        handle.remove()
    assert count["n"] == 3  # as planned, 0.75x, 0.5x


def test_ladder_on_cuda_offloads_before_shrinking(plans):
    steps = list(api.oom_ladder(plans.preview(device="cuda", width=1024, height=1024)))
    assert [p.offload for p, _ in steps] == ["none", "model", "group", "sequential", "sequential", "sequential"]
    assert [(p.width, p.height) for p, _ in steps][-2:] == [(768, 768), (512, 512)]
    assert all(note for _, note in steps[1:])


def test_other_errors_are_not_swallowed(manager, plans, painting):
    with pytest.raises(ValueError, match="family"):
        api.generate(manager, plans.preview(family="nope"), prompt="map", image=painting)
