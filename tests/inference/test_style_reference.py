"""`--style-image` on the final stage (issue 16): FLUX.2 Klein is given the picture as its second reference,
beside the map (the preview) and before the line art, with a prompt that says which image is which; the
metadata names the picture. The real pipeline runs: a wrapper around its __call__ records the arguments."""

import hashlib

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers")

from app.cli import example_inputs
from app.jobs.ai import AIOptions, Engines, fit_reference
from app.jobs.render import RenderRequest, render

SIZE = (128, 96)


@pytest.fixture(scope="module")
def models_dir(packs, tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    store = Engines(root).store
    for name in ("z_image", "klein"):
        store.import_path(packs[name])
    return root


@pytest.fixture
def klein_calls(monkeypatch):
    """Every Flux2KleinPipeline call's `image` list (as arrays) and every prompt it encodes; then the real call."""
    import diffusers

    calls = {"images": [], "prompts": []}
    cls = diffusers.Flux2KleinPipeline
    real_call, real_encode = cls.__call__, cls.encode_prompt

    def call(self, *args, **kwargs):
        calls["images"].append([np.asarray(im) for im in kwargs.get("image") or []])
        return real_call(self, *args, **kwargs)

    def encode(self, prompt, *args, **kwargs):
        if prompt is not None:  # the pipeline's own call passes the cached embeddings instead
            calls["prompts"].append(prompt)
        return real_encode(self, prompt, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", call)
    monkeypatch.setattr(cls, "encode_prompt", encode)
    return calls


def _painting(tmp_path):
    art = np.zeros((90, 200, 3), np.uint8)  # wider than the map: cropped, not squashed
    art[:, :100] = (200, 40, 30)
    art[:, 100:] = (30, 40, 200)
    art[40:50, 95:105] = (250, 250, 0)  # a mark at the centre survives the centre crop
    Image.fromarray(art).save(tmp_path / "painting.png")
    return tmp_path / "painting.png", art


def test_klein_gets_map_then_style_then_line_art(models_dir, klein_calls, tmp_path):
    path, _ = _painting(tmp_path)
    engines = Engines(models_dir)
    preview = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)
    req = RenderRequest(inputs=example_inputs(), style="ink", size=SIZE, engine="final", seed=3,
                        ai=AIOptions(reference=preview))  # fmt: skip
    plain = render(req, engines=engines)
    assert len(klein_calls["images"][-1]) == 2  # the map and the line art
    req.style_image = path
    styled = render(req, engines=engines)
    images = klein_calls["images"][-1]
    assert len(images) == 3
    map_ref, style_ref, line_art = images
    assert np.abs(map_ref.astype(int) - 120).max() <= 2  # the preview first
    assert style_ref.shape == map_ref.shape
    h, w = style_ref.shape[:2]
    assert style_ref[h // 2, w // 2, 0] > 200 and style_ref[h // 2, w // 2, 2] < 80  # the centre mark, not stretched
    assert style_ref[h // 2, 2, 0] > 150 and style_ref[h // 2, w - 3, 2] > 150  # red left, blue right
    expect = np.asarray(Image.fromarray(styled.layers.structure).resize((w, h), Image.Resampling.LANCZOS))
    assert np.abs(line_art.astype(int) - expect.astype(int)).mean() < 2  # the line art last
    prompt = klein_calls["prompts"][-1]
    assert prompt.startswith("Image 1 is the map") and "Image 2 gives only the style" in prompt
    stage = styled.metadata["stages"]["final"]
    assert stage["references"] == ["map", "style image", "line art"] and stage["prompt"] == prompt
    assert plain.metadata["stages"]["final"]["references"] == ["map", "line art"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert styled.metadata["style_image"] == {"name": "painting.png", "sha256": digest}
    assert np.abs(styled.stages["final"].astype(int) - plain.stages["final"].astype(int)).mean() > 0.5


def test_fit_reference_crops_to_the_aspect_and_scales():
    art = np.zeros((100, 400, 3), np.uint8)
    art[:, 190:210] = 255  # a stripe in the middle; the centre square (columns 150-250) keeps it, unstretched
    art[:, :150] = (255, 0, 0)  # cropped away
    out = fit_reference(art, 64, 64)
    assert out.shape == (64, 64, 3)
    assert out[:, 32].min() > 200 and out[:, 0].max() < 60 and out[:, 63].max() < 60
    assert 10 <= (out[0, :, 1] > 128).sum() <= 16  # a fifth of the width, as in the picture
