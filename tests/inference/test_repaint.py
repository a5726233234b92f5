"""Repaint a region (issue 16) on the tiny packs: the inpainting pipelines, the chain and what it keeps."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from app.errors import Cancelled
from app.inference import api, inpaint
from app.inference.manager import ModelManager
from app.jobs.cancel import CancelToken
from app.jobs.reference import dilate
from app.jobs.repaint import Repaint

W, H = 96, 64  # FLUX.2 Klein takes nothing under 64 pixels a side


@pytest.fixture(scope="module")
def manager():
    m = ModelManager()
    yield m
    m.unload()


@pytest.fixture
def picture():
    img = np.full((H, W, 3), 225, np.uint8)
    img[8:30, 8:50] = (90, 140, 200)
    img[36:58, 40:90] = (120, 180, 90)
    img[:, 48] = 30
    return img


def _mask(box, w=W, h=H):
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def _plan(plans, stage, **kw):
    base = plans.preview() if stage == "preview" else plans.final()
    return replace(base, width=W, height=H, **kw)


@pytest.mark.parametrize("stage", ["preview", "final"])
def test_the_inpainting_pipeline_reuses_the_weights_already_loaded(manager, plans, picture, stage):
    plan = _plan(plans, stage)
    api.generate(manager, plan, prompt="map", image=picture, references=[picture], seed=1)
    loads, builds = manager.stats["component_loads"], manager.stats["pipeline_builds"]
    out = api.generate(manager, plan, prompt="map", image=picture, references=[picture], seed=1,
                       mask=_mask((10, 10, 40, 40)))  # fmt: skip
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    assert manager.stats["component_loads"] == loads  # no weights loaded twice
    assert manager.stats["pipeline_builds"] == builds + 1
    key = inpaint.family(plan.family).pipeline_key(plan)
    pipe = manager.pipeline(key, None)
    assert type(pipe).__name__ == ("ZImageInpaintPipeline" if stage == "preview" else "Flux2KleinInpaintPipeline")
    stage_key = api.family_module(plan.family).pipeline_key(plan)
    assert pipe.transformer is manager.pipeline(stage_key, None).transformer


def _latent_mask(pipe, image, width, height, *, packed):
    """The mask as the pipeline's own preprocessing and sampling put it on its latent grid."""
    m = pipe.mask_processor.preprocess(image, height=height, width=width)
    if packed:  # FLUX.2 Klein: bilinear onto the packed grid
        size, mode = (height // (pipe.vae_scale_factor * 2), width // (pipe.vae_scale_factor * 2)), "bilinear"
    else:  # Z-Image: nearest onto the latent grid
        cells = 2 * (height // (pipe.vae_scale_factor * 2)), 2 * (width // (pipe.vae_scale_factor * 2))
        size, mode = cells, "nearest"
    return torch.nn.functional.interpolate(m, size=size, mode=mode)[0, 0].numpy()


@pytest.mark.parametrize("stage", ["preview", "final"])
def test_the_model_sees_the_mask_in_whole_cells_at_its_own_resolution(manager, plans, picture, stage):
    plan = _plan(plans, stage)
    api.generate(manager, plan, prompt="map", image=picture, references=[picture], seed=1, mask=_mask((0, 0, 8, 8)))
    fam = inpaint.family(plan.family)
    pipe = manager.pipeline(fam.pipeline_key(plan), None)
    packed = stage == "final"
    cell = pipe.vae_scale_factor * (2 if packed else 1)
    stroke = np.zeros((H, W), bool)
    stroke[20, 10:70] = True  # one pixel thin: "nearest" alone would drop it
    seen = _latent_mask(pipe, inpaint.mask_image(stroke, W, H, cell=cell), W, H, packed=packed)
    rows, cols = np.nonzero(seen > 0.99)
    assert set(rows) == {20 // cell} and cols.min() == 10 // cell and cols.max() == 69 // cell
    assert (seen[seen < 0.99] == 0).all()  # nothing else is repainted
    # the same region drawn at 4x or at half the stage's size reaches the same cells, or one more at its edge
    # (scaling blurs the edge: the model repaints a little more, never less, than the blend will use)
    box = (16, 16, 64, 48)
    at_stage = _latent_mask(pipe, inpaint.mask_image(_mask(box), W, H, cell=cell), W, H, packed=packed) > 0.99
    for k in (4, 0.5):
        other = _mask(tuple(int(v * k) for v in box), int(W * k), int(H * k))
        got = _latent_mask(pipe, inpaint.mask_image(other, W, H, cell=cell), W, H, packed=packed) > 0.99
        assert (got | ~at_stage).all() and not (got & ~dilate(at_stage, 1)).any(), k


def test_the_repaint_is_seeded(manager, plans, picture):
    plan, mask = _plan(plans, "preview"), _mask((20, 10, 70, 50))
    a, b, c = (api.generate(manager, plan, prompt="map", image=picture, strength=0.9, seed=s, mask=mask)
               for s in (5, 5, 6))  # fmt: skip
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_final_repaint_follows_its_reference(manager, plans, picture):
    plan, mask = _plan(plans, "final"), _mask((20, 10, 70, 50))
    lines = np.full_like(picture, 255)
    lines[::8] = 0
    a = api.generate(manager, plan, prompt="map", image=picture, references=[picture], seed=2, mask=mask)
    b = api.generate(manager, plan, prompt="map", image=picture, references=[lines], seed=2, mask=mask)
    assert not np.array_equal(a, b)  # the reference image reaches the model


def test_cancel_mid_repaint_then_it_runs_again(manager, plans, picture):
    plan, mask, token, steps = _plan(plans, "preview"), _mask((20, 10, 70, 50)), CancelToken(), []

    def progress(stage, step, total, message=""):
        if stage == "denoise" and step >= 1:
            steps.append(step)
            token.cancel()

    with pytest.raises(Cancelled):
        api.generate(manager, plan, prompt="map", image=picture, strength=1.0, seed=1, mask=mask,
                     progress=progress, cancel=token)  # fmt: skip
    assert steps == [1]
    out = api.generate(manager, plan, prompt="map", image=picture, strength=1.0, seed=1, mask=mask)
    assert out.shape == (H, W, 3)


def test_a_family_without_inpainting_says_so(manager, plans, picture):
    with pytest.raises(ValueError, match="cannot repaint"):
        api.generate(manager, plans.dev(), prompt="map", image=picture, mask=_mask((0, 0, 8, 8)))


# ----- through the chain: app.jobs.render.repaint ---------------------------------------------------------------

SIZE = (160, 120)


@pytest.fixture(scope="module")
def engines(packs, tmp_path_factory):
    from app.jobs.ai import Engines

    root = tmp_path_factory.mktemp("models")
    e = Engines(root)
    for name in ("z_image", "klein"):
        e.store.import_path(packs[name])
    yield Engines(root)
    e.unload()


@pytest.fixture(scope="module")
def preview(engines):
    from app.cli import example_inputs
    from app.jobs.render import RenderRequest, render

    req = RenderRequest(inputs=example_inputs(), style="ink", size=SIZE, engine="preview", seed=3)
    return req, render(req, engines=engines)


def _repaint(engines, preview, mask, *, stage="preview", feather=6, **kw):
    from app.jobs.render import repaint

    req, made = preview
    job = Repaint(made.stages["preview"], mask, stage=stage, finished=made.image, metadata=made.metadata,
                  feather=feather)  # fmt: skip
    return repaint(replace(req, seed=11), job, data=made.data, engines=engines, **kw)


@pytest.mark.parametrize("stage", ["preview", "final"])
def test_only_the_mask_and_its_feather_change(engines, preview, stage):
    _, made = preview
    mask = _mask((30, 20, 100, 80), *SIZE)
    out = _repaint(engines, preview, mask, stage=stage)
    assert out.image.shape == made.image.shape and out.engine == stage
    changed = (out.image != made.image).any(axis=-1)
    assert not changed[~dilate(mask, 6)].any()  # beyond the feather: the picture exactly as it was
    assert changed[mask].mean() > 0.5  # inside: painted again
    ring = dilate(mask, 6) & ~mask  # the feather: blended, so changed too
    assert (out.stages[stage] != made.stages["preview"]).any(axis=-1)[ring].mean() > 0.3
    record = out.metadata["repaints"][-1]
    assert record["stage"] == stage and record["seed"] == 11 and record["feather"] == 6
    assert record["share"] == pytest.approx(mask.mean(), abs=1e-3)
    assert record["model"] == ("z-image-turbo" if stage == "preview" else "flux2-klein-4b")
    assert out.metadata["stages"] == made.metadata["stages"]  # the picture's own record stays


def test_the_overlay_is_drawn_again_over_the_repainted_area(engines, preview):
    from app.render.overlay import draw_overlay
    from app.styles.catalog import get_style

    _, made = preview
    everything = np.ones(SIZE[::-1], bool)
    out = _repaint(engines, preview, everything)
    rgba = np.zeros((*SIZE[::-1], 4), np.uint8)
    draw_overlay(rgba, out.overlay, get_style("ink").typography)
    alpha = rgba[..., 3].astype(int)
    solid, free = alpha == 255, alpha == 0
    assert solid.sum() > 15 and (alpha > 0).sum() > 500  # labels, title, scale bar (small, so mostly soft edges)
    assert np.array_equal(out.image[solid], made.image[solid])  # drawn crisply again, the same as before
    # where the overlay is partly transparent, only its transparent share may differ
    diff = np.abs(out.image.astype(int) - made.image.astype(int)).max(axis=-1)
    assert (diff <= 255 - alpha + 2).all()
    assert (out.image != made.image).any(axis=-1)[free].mean() > 0.5  # everything under it painted again


def test_a_mask_of_another_size_is_scaled_to_the_picture(engines, preview):
    _, made = preview
    small = _mask((0, 0, 40, 60), 80, 60)  # the left half, drawn at half size
    out = _repaint(engines, preview, small, feather=4)
    changed = (out.image != made.image).any(axis=-1)
    assert not changed[:, 80 + 4 :].any() and changed[:, :80].mean() > 0.5
    assert not any("stretched" in w for w in out.warnings)
    square = _repaint(engines, preview, _mask((0, 0, 50, 100), 100, 100), feather=4)
    assert any("100x100" in w and "stretched" in w for w in square.warnings)


def test_cancel_mid_repaint_through_the_chain(engines, preview):
    token = CancelToken()

    def progress(stage, step, total, message=""):
        if stage == "denoise" and step >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        _repaint(engines, preview, _mask((30, 20, 100, 80), *SIZE), progress=progress, cancel=token)
