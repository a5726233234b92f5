"""Pipelines stay resident, shared components load once, embeddings are cached, unload frees."""

import pytest

from app.inference import api
from app.inference.manager import ModelManager


def _encoder_calls(pipe):
    calls = []
    handle = pipe.text_encoder.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def test_second_image_reuses_weights_and_embeddings(plans, painting):
    manager = ModelManager()
    plan = plans.preview()
    api.generate(manager, plan, prompt="old map", image=painting, strength=0.8, seed=1)
    loads = manager.stats["component_loads"]
    pipe = manager.pipeline(api.family_module("z_image").pipeline_key(plan), None)
    calls, handle = _encoder_calls(pipe)
    try:
        api.generate(manager, plan, prompt="old map", image=painting, strength=0.8, seed=2)
        assert manager.stats["component_loads"] == loads  # no weights reloaded
        assert calls == []  # text encoder skipped: cached embeddings
        api.generate(manager, plan, prompt="a new prompt", image=painting, strength=0.8, seed=2)
        assert len(calls) == 1  # a new prompt does run the encoder
    finally:
        handle.remove()
    assert manager.stats["pipeline_builds"] == 1


def test_controlnet_pipeline_shares_the_img2img_components(plans, painting, structure):
    manager = ModelManager()
    api.generate(manager, plans.preview(), prompt="map", image=painting, seed=1)
    loads = manager.stats["component_loads"]
    api.generate(manager, plans.controlnet(), prompt="map", control=structure, seed=1)
    assert manager.stats["component_loads"] == loads + 1  # only the ControlNet is new
    keys = manager.resident()
    a, b = (manager.pipeline(k, None) for k in keys)
    assert a.transformer is b.transformer and a.vae is b.vae and a.text_encoder is b.text_encoder


def test_klein_gguf_reuses_the_folder_vae_and_text_encoder(plans, packs, painting):
    manager = ModelManager()
    api.generate(manager, plans.final(), prompt="map", image=painting, seed=1)
    loads = manager.stats["component_loads"]
    api.generate(manager, plans.final(transformer_file=packs["klein_gguf"]), prompt="map", image=painting, seed=1)
    assert manager.stats["component_loads"] == loads + 1  # only the GGUF transformer
    a, b = (manager.pipeline(k, None) for k in manager.resident())
    assert a.vae is b.vae and a.text_encoder is b.text_encoder and a.transformer is not b.transformer


def test_budget_evicts_least_recently_used_pipeline(plans, painting):
    manager = ModelManager(budget_bytes=1)  # everything is over budget: only the newest stays
    api.generate(manager, plans.preview(), prompt="map", image=painting, seed=1)
    api.generate(manager, plans.final(), prompt="map", image=painting, seed=1)
    assert [k[0] for k in manager.resident()] == ["flux2_klein"]
    assert manager.stats["evictions"] == 1


def test_unload_frees_everything(plans, painting):
    manager = ModelManager()
    api.generate(manager, plans.preview(), prompt="map", image=painting, seed=1)
    assert manager.loaded_bytes > 0
    manager.unload()
    assert manager.resident() == [] and manager.loaded_bytes == 0


def test_pipeline_lookup_without_builder_fails_for_unknown_key():
    with pytest.raises(TypeError):
        ModelManager().pipeline(("nothing",), None)
