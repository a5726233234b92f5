import torch

from app.inference import gguf_io


def test_split_attention_spellings_become_diffusers_names():
    state = {
        "model.diffusion_model.layers.0.attention.q.weight": torch.zeros(4, 4),
        "layers.0.attention.wk.weight": torch.zeros(4, 4),
        "layers.0.attention.v_proj.weight": torch.zeros(4, 4),
        "noise_refiner.0.attention.to_q.weight": torch.zeros(4, 4),
        "layers.0.attention.qkv.weight": torch.zeros(12, 4),
        "x_pad_token": torch.ones(4),
    }
    out = gguf_io.normalize_z_image(state)
    assert "layers.0.attention.to_q.weight" in out
    assert "layers.0.attention.to_k.weight" in out
    assert "layers.0.attention.to_v.weight" in out
    assert "noise_refiner.0.attention.to_q.weight" in out
    assert "layers.0.attention.qkv.weight" in out  # fused keys are left to diffusers' converter
    assert out["x_pad_token"].shape == (1, 4)


def test_z_image_original_keys_round_trip_names():
    weights = {
        "layers.0.attention.to_q.weight": torch.ones(2, 2),
        "layers.0.attention.to_k.weight": torch.ones(2, 2) * 2,
        "layers.0.attention.to_v.weight": torch.ones(2, 2) * 3,
        "all_x_embedder.2-1.weight": torch.ones(2, 2),
    }
    fused = gguf_io.z_image_to_original(weights)
    assert fused["layers.0.attention.qkv.weight"].shape == (6, 2)
    assert "x_embedder.weight" in fused
    split = gguf_io.z_image_to_original(weights, split_qkv=True)
    assert torch.equal(split["layers.0.attention.k.weight"], weights["layers.0.attention.to_k.weight"])


def test_flux2_comfy_prefix_is_stripped():
    state = {
        "model.diffusion_model.double_blocks.0.img_attn.qkv.weight": torch.zeros(6, 2),
        "model.diffusion_model.img_in.weight": torch.zeros(2, 2),
        "single_blocks.0.linear1.weight": torch.zeros(2, 2),
    }
    out = gguf_io.normalize_flux2(state)
    assert set(out) == {"double_blocks.0.img_attn.qkv.weight", "img_in.weight", "single_blocks.0.linear1.weight"}
