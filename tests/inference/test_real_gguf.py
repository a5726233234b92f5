"""GGUF files written like city96's ComfyUI-GGUF tools; offload with GGUF; Z-Image's step count (issue 13)."""

import gguf
import numpy as np
import pytest
import torch

from app.inference import api, gguf_io, loading
from app.inference.manager import ModelManager

T = gguf.GGMLQuantizationType


@pytest.mark.parametrize("qtype,bound", [(T.Q8_0, 0.01), (T.Q6_K, 0.03), (T.Q5_K, 0.05), (T.Q4_K, 0.1)])
def test_k_quant_blocks_round_trip_through_gguf_dequantize(qtype, bound):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(6, 512)).astype(np.float32)
    data[1] = 0.0
    data[2] += 3.0  # all positive: the minimum is used
    blocks = gguf_io.quantize(data, qtype)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    assert blocks.dtype == np.uint8 and blocks.shape == (6, 512 // block * size)
    back = gguf.quants.dequantize(blocks, qtype)
    assert back.shape == data.shape
    assert np.linalg.norm(back - data) / np.linalg.norm(data) < bound
    assert not back[1].any()


def _types(path):
    reader = gguf.GGUFReader(str(path))
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    return arch, {gguf_io.strip_prefix(t.name): (t.tensor_type, tuple(t.shape)) for t in reader.tensors}


def test_files_are_written_like_the_community_tools(packs):
    arch, z = _types(packs["z_image_gguf_q4_k_m"])
    assert arch == "lumina2"
    assert z["x_pad_token"][0] == T.BF16 and z["x_pad_token"][1] == (256, 1)  # 2-D [1, dim], as in real files
    assert z["layers.0.attention.qkv.weight"][0] == T.Q5_K
    assert z["layers.0.attention.out.weight"][0] == T.Q4_K
    assert z["layers.0.feed_forward.w2.weight"][0] == T.F16  # 682-wide rows do not fill 256-blocks
    assert z["layers.0.attention_norm1.weight"][0] == T.F32
    _, split = _types(packs["z_image_gguf_split"])
    assert split["x_pad_token"] == (T.F32, (256,))
    arch, k = _types(packs["klein_gguf_q4_k_m"])
    assert arch == "flux"
    assert k["single_blocks.0.linear2.weight"][0] == T.Q6_K
    assert k["double_blocks.0.img_mlp.2.weight"][0] == T.Q6_K
    assert k["double_blocks.0.img_attn.qkv.weight"][0] == T.Q5_K
    assert k["img_in.weight"][0] == T.F16  # 128-wide rows
    _, comfy = _types(packs["z_image_gguf_q5_k_m_comfy"])
    assert comfy["layers.0.attention.qkv.weight"][0] == T.Q6_K
    assert all(
        t.name.startswith(gguf_io.COMFY_PREFIX)
        for t in gguf.GGUFReader(str(packs["z_image_gguf_q5_k_m_comfy"])).tensors
    )


def _spec(packs, name):
    return loading.ComponentSpec(
        "transformer", "ZImageTransformer2DModel", packs[name], torch.float32, config=packs["z_image"]
    )


@pytest.mark.parametrize("name", ["z_image_gguf", "z_image_gguf_q4_k_m", "z_image_gguf_split"])
def test_pad_tokens_are_dequantised_whatever_their_shape(packs, name):
    model = loading.load_component(_spec(packs, name))
    ref = loading.load_component(loading.folder_specs(packs["z_image"], torch.float32, "")["transformer"])
    for token in ("x_pad_token", "cap_pad_token"):
        got, want = getattr(model, token), getattr(ref, token)
        assert got.shape == want.shape == (1, 256)
        assert not hasattr(got, "quant_type")
        torch.testing.assert_close(got.float(), want.float(), atol=0.01, rtol=0.01)  # BF16 rounding at most


@pytest.fixture
def emulated_gpu(monkeypatch):
    """The CPU offers every offload mode, as CUDA does, so that offloading runs on this machine."""
    monkeypatch.setattr(loading, "supported_offloads", lambda device: loading.OFFLOAD_MODES)


def test_sequential_offload_of_a_gguf_transformer_becomes_group_offload(emulated_gpu, plans, painting):
    from diffusers.hooks.group_offloading import _is_group_offload_enabled

    manager = ModelManager()
    plan = plans.preview(transformer_file=plans.packs["z_image_gguf_q4_k_m"], offload="sequential", steps=2)
    out = api.generate(manager, plan, prompt="map", image=painting, strength=1.0, seed=1)
    assert out.shape == (64, 64, 3)
    key = api.family_module("z_image").pipeline_key(plan)
    assert manager.placement(key) == ("cpu", "group")
    assert _is_group_offload_enabled(manager.pipeline(key, None).transformer)
    folder = plans.preview(offload="sequential", steps=2)  # without GGUF, sequential stays sequential
    assert loading.offload_for(folder.offload, "cuda", gguf=False) == "sequential"
    manager.unload()


def test_ladder_for_gguf_skips_the_broken_rung_and_its_last_step_runs(emulated_gpu, plans, painting):
    gguf_plan = plans.preview(transformer_file=plans.packs["z_image_gguf_q4_k_m"], offload="model", steps=2)
    ladder = list(api.oom_ladder(gguf_plan))
    assert [p.offload for p, _ in ladder] == ["model", "group", "group", "group"]
    assert not any("sequential" in note for _, note in ladder)
    calls = {"n": 0}

    def oom(module, args):
        if type(module).__name__ == "ZImageTransformer2DModel":
            calls["n"] += 1
            if calls["n"] <= len(ladder) - 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    manager, notes = ModelManager(), []
    handle = torch.nn.modules.module.register_module_forward_pre_hook(oom)
    try:
        out = api.generate(manager, gguf_plan, prompt="map", image=painting, strength=1.0, seed=1, notes=notes)
    finally:
        handle.remove()
    assert out.shape == (64, 64, 3) and out.std() > 1.0
    assert len(notes) == len(ladder) - 1 and "32×32" in notes[-1]
    last = api.family_module("z_image").pipeline_key(ladder[-1][0])
    assert manager.placement(last) == ("cpu", "group")
    manager.unload()


def test_cuda_ladder_with_gguf_has_no_sequential_rung(plans):
    ladder = list(api.oom_ladder(plans.preview(device="cuda", transformer_file=plans.packs["z_image_gguf"])))
    assert [p.offload for p, _ in ladder] == ["none", "model", "group", "group", "group"]


def test_z_image_runs_the_eight_transformer_passes_it_is_distilled_for(plans, painting):
    """With the installed diffusers, the catalog's steps give 8 transformer evaluations on every tier."""
    from app.models.catalog import load_catalog

    catalog = load_catalog()
    steps = {t.preview.steps for t in catalog.tiers.values() if t.preview.model == "z-image-turbo"}
    assert len(steps) == 1
    manager, calls = ModelManager(), []
    plan = plans.preview(steps=steps.pop())
    api.generate(manager, plan, prompt="map", seed=1)  # text to image: every step runs
    z = api.family_module("z_image")
    pipe = manager.pipeline((z.FAMILY, "text2img", *z.pipeline_key(plan)[2:]), None)
    handle = pipe.transformer.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        api.generate(manager, plan, prompt="map", seed=2)
    finally:
        handle.remove()
    assert len(calls) == 8
    assert len(pipe.scheduler.timesteps) == 8 and pipe.scheduler.sigmas[-1] == 0.0
    manager.unload()
