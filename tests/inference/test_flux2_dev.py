"""FLUX.2 Dev (family "flux2"): the tiny pack loads (folder and ComfyUI-style GGUF) and renders a final image."""

import json

import numpy as np
import pytest

from app.inference import api, loading
from app.inference.manager import ModelManager


@pytest.fixture(scope="module")
def manager():
    m = ModelManager()
    yield m
    m.unload()


def test_pack_has_the_flux2_dev_layout(packs):
    index = json.loads((packs["flux2_dev"] / "model_index.json").read_text())
    assert index["_class_name"] == "Flux2Pipeline"
    assert index["text_encoder"] == ["transformers", "Mistral3ForConditionalGeneration"]
    assert index["tokenizer"] == ["transformers", "PixtralProcessor"]
    config = json.loads((packs["flux2_dev"] / "transformer" / "config.json").read_text())
    assert config["guidance_embeds"] is True


def test_final_stage_generates_with_references(manager, plans, painting):
    events = []
    a = api.generate(
        manager,
        plans.dev(),
        prompt="map",
        image=painting,
        references=[painting],
        seed=5,
        progress=lambda *e: events.append(e),
    )
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8 and a.std() > 1.0
    denoise = [e for e in events if e[0] == "denoise"]
    assert denoise[-1][1:3] == (2, 2) and "FLUX.2 Dev" in denoise[-1][3]
    pipe = manager._pipelines[manager.resident()[0]].pipe
    assert type(pipe).__name__ == "Flux2Pipeline"
    assert type(pipe.text_encoder).__name__ == "Mistral3ForConditionalGeneration"
    b = api.generate(manager, plans.dev(), prompt="map", image=painting, references=[painting], seed=5)
    c = api.generate(manager, plans.dev(), prompt="map", image=painting, references=[painting], seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert manager.stats["pipeline_builds"] == 1 and manager.stats["embed_hits"] >= 2


def test_comfy_prefixed_gguf_transformer_renders_like_the_folder(manager, plans, packs, painting):
    kinds = {type(p).__name__ for p in _gguf_transformer(packs).parameters()}
    assert "GGUFParameter" in kinds
    folder = api.generate(manager, plans.dev(), prompt="map", image=painting, seed=2)
    gguf = api.generate(
        manager, plans.dev(transformer_file=packs["flux2_dev_gguf"]), prompt="map", image=painting, seed=2
    )
    assert gguf.shape == folder.shape
    diff = np.abs(gguf.astype(int) - folder.astype(int)).mean()
    assert diff < 8, f"Q8_0 GGUF image differs from the folder's by {diff:.1f} grey levels on average"


def _gguf_transformer(packs):
    import torch

    spec = loading.ComponentSpec(
        "transformer", "Flux2Transformer2DModel", packs["flux2_dev_gguf"], torch.float32, config=packs["flux2_dev"]
    )
    return loading.load_component(spec)
