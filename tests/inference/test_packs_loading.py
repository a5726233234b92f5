"""The tiny packs have the real layout, and every format loads through the real loaders."""

import json

import pytest
import torch

from app.errors import ModelUnavailable
from app.inference import gguf_io, loading


def _folder_spec(packs, pack, name, dtype=torch.float32):
    return loading.folder_specs(packs[pack], dtype, "")[name]


def test_packs_are_small_fast_and_in_the_real_layout(packs):
    assert packs["_build_seconds"] < 60
    z = packs["z_image"]
    for sub in ("transformer", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (z / sub).is_dir()
    index = json.loads((z / "model_index.json").read_text())
    assert index["_class_name"] == "ZImagePipeline"
    assert index["transformer"] == ["diffusers", "ZImageTransformer2DModel"]
    klein = json.loads((packs["klein"] / "model_index.json").read_text())
    assert klein["_class_name"] == "Flux2KleinPipeline" and klein["vae"][1] == "AutoencoderKLFlux2"
    total = sum(f.stat().st_size for f in packs["z_image"].parent.rglob("*") if f.is_file())
    assert total < 150_000_000  # transformers 256 wide, so that K-quant blocks fill their rows


@pytest.mark.parametrize("pack,dtype", [("z_image", torch.float32), ("z_image_bf16", torch.bfloat16)])
def test_folder_loads_in_its_dtype(packs, pack, dtype):
    model = loading.load_component(_folder_spec(packs, pack, "transformer", dtype))
    assert type(model).__name__ == "ZImageTransformer2DModel"
    assert {p.dtype for p in model.parameters()} == {dtype}


def test_bf16_folder_loads_as_float32_for_cpu(packs):
    model = loading.load_component(_folder_spec(packs, "z_image_bf16", "text_encoder", torch.float32))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def _z_forward(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = [torch.randn(16, 1, 8, 8, generator=g)]
    cap = [torch.randn(7, 16, generator=g)]
    with torch.no_grad():
        return model(x, torch.tensor([0.5]), cap, return_dict=False)[0][0]


@pytest.mark.parametrize(
    "gguf_pack,bound",
    [
        ("z_image_gguf", 0.02),
        ("z_image_gguf_split", 0.02),
        ("z_image_gguf_q5_k_m_comfy", 0.06),
        ("z_image_gguf_q4_k_m", 0.12),
    ],
)
def test_z_image_gguf_loads_through_the_converter_and_matches_the_folder(packs, gguf_pack, bound):
    assert gguf_io.is_split_qkv(gguf_io.read_gguf(packs[gguf_pack])) == gguf_pack.endswith("split")
    spec = loading.ComponentSpec(
        "transformer", "ZImageTransformer2DModel", packs[gguf_pack], torch.float32, config=packs["z_image"]
    )
    gguf_model = loading.load_component(spec)
    kinds = {type(p).__name__ for p in gguf_model.parameters()}
    assert "GGUFParameter" in kinds  # really quantized, not dequantized on load
    ref = loading.load_component(_folder_spec(packs, "z_image", "transformer"))
    a, b = _z_forward(gguf_model), _z_forward(ref)
    rel = (a - b).norm() / b.norm()
    assert rel < bound, f"GGUF output differs from the folder's by {rel:.3f}"


@pytest.mark.parametrize(
    "gguf_pack,bound", [("klein_gguf", 0.02), ("klein_gguf_comfy", 0.02), ("klein_gguf_q4_k_m", 0.12)]
)
def test_klein_gguf_matches_the_folder(packs, gguf_pack, bound):
    keys = list(gguf_io.read_gguf(packs[gguf_pack]))
    assert all(k.startswith("model.diffusion_model.") for k in keys) == gguf_pack.endswith("comfy")
    spec = loading.ComponentSpec(
        "transformer", "Flux2Transformer2DModel", packs[gguf_pack], torch.float32, config=packs["klein"]
    )
    gguf_model = loading.load_component(spec)
    ref = loading.load_component(_folder_spec(packs, "klein", "transformer"))
    g = torch.Generator().manual_seed(0)
    kw = {
        "hidden_states": torch.randn(1, 16, 128, generator=g),
        "encoder_hidden_states": torch.randn(1, 5, 48, generator=g),
        "timestep": torch.tensor([0.5]),
        "img_ids": torch.zeros(1, 16, 4),
        "txt_ids": torch.zeros(1, 5, 4),
        "return_dict": False,
    }
    with torch.no_grad():
        a, b = gguf_model(**kw)[0], ref(**kw)[0]
    assert (a - b).norm() / b.norm() < bound


def test_controlnet_single_file_loads_with_its_local_config(packs):
    spec = loading.ComponentSpec("controlnet", "ZImageControlNetModel", packs["controlnet"], torch.float32)
    model = loading.load_component(spec)
    assert model.config.control_layers_places == [0, 1]


def test_pickle_and_unknown_formats_are_refused(packs, tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not loaded")
    spec = loading.ComponentSpec(
        "transformer", "ZImageTransformer2DModel", ckpt, torch.float32, config=packs["z_image"]
    )
    with pytest.raises(ModelUnavailable, match=r"only \.safetensors and \.gguf"):
        loading.load_component(spec)


def test_unknown_component_class_is_refused(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"transformer": ["evil", "RemoteCodeModel"]}))
    with pytest.raises(ModelUnavailable, match="unsupported component"):
        loading.folder_specs(tmp_path, torch.float32, "")


def test_missing_folder_is_a_plain_error(tmp_path):
    with pytest.raises(ModelUnavailable, match=r"model_index\.json is missing"):
        loading.folder_specs(tmp_path, torch.float32, "")
