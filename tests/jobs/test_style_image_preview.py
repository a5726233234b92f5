"""render --style-image with the preview engine (issue 16): the sketch's palette is moved towards the picture
before img2img, and the preview starts from that sketch (tiny random-weight packs on disk)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from app.cli import example_inputs
from app.jobs.ai import Engines
from app.jobs.render import RenderRequest, render
from app.styles.palette_image import delta_e, rgb_to_lab

SIZE = (128, 96)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    from app.inference.packs import build_all

    packs = build_all(tmp_path_factory.mktemp("packs"))
    root = tmp_path_factory.mktemp("models")
    Engines(root).store.import_path(packs["z_image"])
    return root


def test_the_preview_is_given_the_sketch_in_the_pictures_colours(models_dir, tmp_path):
    seascape = np.zeros((60, 80, 3), np.uint8)
    seascape[:, :50] = (30, 90, 140)
    seascape[:, 50:] = (60, 120, 70)
    Image.fromarray(seascape).save(tmp_path / "seascape.png")
    engines = Engines(models_dir)
    req = RenderRequest(inputs=example_inputs(), style="parchment", size=SIZE, engine="preview", seed=3)
    plain = render(req, engines=engines)
    req.style_image = tmp_path / "seascape.png"
    mine = render(req, engines=engines)
    assert "sketch_styled" not in plain.stages and mine.engine == "preview"
    mean = lambda a: rgb_to_lab(a).reshape(-1, 3).mean(0)  # noqa: E731
    target = mean(seascape)
    assert delta_e(mean(mine.stages["sketch_styled"]), target) < delta_e(mean(mine.stages["sketch"]), target)
    assert np.abs(mine.stages["preview"].astype(float) - plain.stages["preview"].astype(float)).mean() > 1
    assert mine.metadata["style_image"]["name"] == "seascape.png"
