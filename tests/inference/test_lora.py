"""LoRAs on the tiny packs: PEFT and Kohya files load, change the picture, weight 0 does not,
switching keeps the pipeline, a LoRA for another base and a pickle file are refused."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from app.errors import InputError
from app.inference import api, lora
from app.inference.lora import LoraSpec
from app.inference.manager import ModelManager

peft = pytest.importorskip("peft")

_Z_TARGETS = ["to_q", "to_k", "to_v"]


@pytest.fixture(scope="module")
def manager():
    m = ModelManager()
    yield m
    m.unload()


def _peft_state(transformer_cls, folder, seed: int, targets=_Z_TARGETS) -> dict:
    """A rank-4 LoRA on the attention projections, trained by nobody: random A and B, so it has an effect."""
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

    model = transformer_cls.from_pretrained(folder, torch_dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=4, target_modules=list(targets), init_lora_weights=False)
    torch.manual_seed(seed)
    model = inject_adapter_in_model(config, model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.5)
    return {k: v.contiguous() for k, v in get_peft_model_state_dict(model).items()}


@pytest.fixture(scope="module")
def loras(packs, tmp_path_factory):
    """Tiny LoRA files: Z-Image in diffusers/PEFT and Kohya keys, FLUX.2 Klein in PEFT keys, a .pt."""
    from diffusers import Flux2Transformer2DModel, ZImageTransformer2DModel
    from safetensors.torch import save_file

    out = tmp_path_factory.mktemp("loras")
    z = _peft_state(ZImageTransformer2DModel, packs["z_image"] / "transformer", 1)
    save_file({f"transformer.{k}": v for k, v in z.items()}, out / "ink_wash.safetensors")
    z2 = _peft_state(ZImageTransformer2DModel, packs["z_image"] / "transformer", 2)
    save_file({f"transformer.{k}": v for k, v in z2.items()}, out / "woodcut.safetensors")
    kohya = {}
    for k, v in z.items():  # layers.0.attention.to_q.lora_A.weight -> lora_unet_layers_0_attention_to_q.lora_down…
        module, kind = k.rsplit(".lora_", 1)
        base = "lora_unet_" + module.replace(".", "_")
        kohya[f"{base}.{'lora_down' if kind.startswith('A') else 'lora_up'}.weight"] = v
        kohya[f"{base}.alpha"] = torch.tensor(4.0)
    save_file(kohya, out / "ink_wash_kohya.safetensors")
    k = _peft_state(Flux2Transformer2DModel, packs["klein"] / "transformer", 3, [*_Z_TARGETS, "to_out.0"])
    save_file({f"transformer.{n}": v for n, v in k.items()}, out / "klein_style.safetensors")
    save_file({f"diffusion_model.{k}": v for k, v in z.items()}, out / "ink_wash_comfy.safetensors")
    # Kohya keys for FLUX.2 use BFL's names: one fused qkv per stream, split by diffusers' converter
    width = Flux2Transformer2DModel.load_config(packs["klein"] / "transformer")
    inner = width["num_attention_heads"] * width["attention_head_dim"]
    gen = torch.Generator().manual_seed(4)
    save_file(
        {
            "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": torch.randn(4, inner, generator=gen),
            "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": torch.randn(3 * inner, 4, generator=gen),
            "lora_unet_double_blocks_0_img_attn_qkv.alpha": torch.tensor(4.0),
        },
        out / "klein_kohya.safetensors",
    )
    torch.save(z, out / "ink_wash.pt")
    return out


def _preview(manager, plans, painting, *specs):
    plan = plans.preview(loras=tuple(specs))
    return api.generate(manager, plan, prompt="map", image=painting, strength=0.9, seed=5)


def test_lora_changes_the_picture_and_weight_zero_does_not(manager, plans, painting, loras):
    plain = _preview(manager, plans, painting)
    styled = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash.safetensors", 0.8))
    zero = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash.safetensors", 0.0))
    again = _preview(manager, plans, painting)
    assert np.abs(styled.astype(int) - plain.astype(int)).mean() > 1.0
    assert np.array_equal(zero, plain)
    assert np.array_equal(again, plain)  # none active: the adapter is off


def test_switching_adapters_keeps_the_pipeline(manager, plans, painting, loras):
    a, b = LoraSpec(loras / "ink_wash.safetensors", 1.0), LoraSpec(loras / "woodcut.safetensors", 1.0)
    first = _preview(manager, plans, painting, a)
    key = api.family_module("z_image").pipeline_key(plans.preview())
    pipe = manager.pipeline(key, None)
    builds = manager.stats["pipeline_builds"]
    second = _preview(manager, plans, painting, b)
    back = _preview(manager, plans, painting, a)
    assert manager.pipeline(key, None) is pipe and manager.stats["pipeline_builds"] == builds
    assert not np.array_equal(first, second)
    assert np.array_equal(first, back)  # switched back, not stacked
    assert set(pipe.transformer.peft_config) == {lora.adapter_name(a.path), lora.adapter_name(b.path)}


def test_kohya_keys_load_like_peft_keys(manager, plans, painting, loras):
    peft_out = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash.safetensors", 1.0))
    kohya_out = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash_kohya.safetensors", 1.0))
    assert np.abs(kohya_out.astype(int) - peft_out.astype(int)).max() <= 2


def test_comfyui_keys_load_like_peft_keys(manager, plans, painting, loras):
    peft_out = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash.safetensors", 1.0))
    comfy_out = _preview(manager, plans, painting, LoraSpec(loras / "ink_wash_comfy.safetensors", 1.0))
    assert np.array_equal(comfy_out, peft_out)


@pytest.mark.parametrize("name", ["klein_style.safetensors", "klein_kohya.safetensors"])
def test_final_stage_lora(manager, plans, painting, loras, name):
    plain = api.generate(manager, plans.final(), prompt="map", image=painting, seed=7)
    spec = LoraSpec(loras / name, 1.0)
    styled = api.generate(manager, plans.final(loras=(spec,)), prompt="map", image=painting, seed=7)
    assert np.abs(styled.astype(int) - plain.astype(int)).mean() > 1.0


def test_lora_for_another_base_is_refused_naming_both(manager, plans, painting, loras):
    with pytest.raises(InputError) as err:
        api.generate(
            manager,
            plans.final(loras=(LoraSpec(loras / "ink_wash.safetensors"),)),
            prompt="map",
            image=painting,
            seed=1,
        )
    msg = str(err.value)
    assert "\n" not in msg and "Z-Image" in msg and "FLUX.2 Klein" in msg and "ink_wash.safetensors" in msg
    with pytest.raises(InputError, match=r"made for FLUX.*not Z-Image-Turbo"):
        _preview(manager, plans, painting, LoraSpec(loras / "klein_style.safetensors"))


@pytest.mark.parametrize("name", ["ink_wash.pt", "style.ckpt"])
def test_pickle_files_are_refused(manager, plans, painting, loras, name):
    with pytest.raises(InputError, match=r"only from \.safetensors") as err:
        _preview(manager, plans, painting, LoraSpec(loras / name))
    assert "\n" not in str(err.value)


def test_metadata_names_hash_and_weight(loras):
    import hashlib

    path = loras / "woodcut.safetensors"
    got = lora.info(LoraSpec(path, 0.65))
    assert got == {"name": "woodcut", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "weight": 0.65}


def test_cli_lora_argument(tmp_path):
    assert lora.parse_cli("styles/ink.safetensors:0.7") == LoraSpec(lora.Path("styles/ink.safetensors"), 0.7)
    assert lora.parse_cli("ink.safetensors").weight == 1.0
    with pytest.raises(InputError, match="must be a number"):
        lora.parse_cli("ink.safetensors:strong")


_STYLE = 'base = "watercolor"\nname = "inky"\ntitle = "Inky"\n'


def test_style_toml_names_loras_per_engine(tmp_path):
    from app.styles.catalog import load_styles

    body = '[[loras]]\nengine = "final"\npath = "loras/ink.safetensors"\nweight = 0.8\n'
    body += '[[loras]]\nengine = "preview"\npath = "/abs/wood.safetensors"\n'
    (tmp_path / "inky.toml").write_text(_STYLE + body)
    style = load_styles(tmp_path)["inky"]
    assert style.loras == (
        LoraSpec(tmp_path / "loras" / "ink.safetensors", 0.8, "final"),
        LoraSpec(lora.Path("/abs/wood.safetensors"), 1.0, "preview"),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('[[loras]]\nengine = "both"\npath = "a.safetensors"\n', "loras[1].engine"),
        ('[[loras]]\nengine = "final"\npath = "a.ckpt"\n', "loras[1].path"),
        ('[[loras]]\nengine = "final"\npath = "a.safetensors"\nweight = 5\n', "loras[1].weight"),
        ('[[loras]]\nengine = "final"\npath = "a.safetensors"\nstrength = 1\n', "loras[1].strength"),
        ('loras = "a.safetensors"\n', "loras"),
    ],
)
def test_style_lora_errors_name_file_and_field(tmp_path, body, field):
    from app.styles.catalog import load_styles

    path = tmp_path / "inky.toml"
    path.write_text(_STYLE + body)
    with pytest.raises(InputError) as err:
        load_styles(tmp_path)
    line = err.value.one_line()
    assert line.startswith(str(path) + ": ") and field in line and "\n" not in line


@pytest.fixture(scope="module")
def models_dir(packs, tmp_path_factory):
    from app.jobs.ai import Engines

    root = tmp_path_factory.mktemp("models")
    store = Engines(root).store
    for name in ("z_image", "klein"):
        store.import_path(packs[name])
    return root


def _cli(*args, models_dir):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_HUB_OFFLINE="1", MAPBRUSH_MODELS_DIR=str(models_dir))
    root = lora.Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env, timeout=600)


def test_cli_lora_is_applied_and_recorded(models_dir, loras, tmp_path):
    import hashlib
    import json

    out = tmp_path / "styled.png"
    file = loras / "ink_wash.safetensors"
    proc = _cli("render", "--example", "--engine", "preview", "--size", "64x64", "--seed", "2", "-o", out,
                "--lora", f"{file}:0.7", "--json", models_dir=models_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stage = json.loads(proc.stdout)["metadata"]["stages"]["preview"]
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    assert stage["loras"] == [{"name": "ink_wash", "sha256": digest, "weight": 0.7}]
    pickle = loras / "ink_wash.pt"
    proc = _cli("render", "--example", "--engine", "preview", "--size", "64x64", "-o", tmp_path / "x.png",
                "--lora", pickle, models_dir=models_dir)  # fmt: skip
    assert proc.returncode != 0 and not (tmp_path / "x.png").exists()
    assert len(proc.stderr.strip().splitlines()) == 1 and "only from .safetensors" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_style_loras_reach_their_engine_and_the_metadata(models_dir, loras, tmp_path):
    from app.cli import example_inputs
    from app.jobs.ai import Engines
    from app.jobs.render import RenderRequest, render

    styles = tmp_path / "styles"
    styles.mkdir()
    body = f'[[loras]]\nengine = "preview"\npath = "{loras / "woodcut.safetensors"}"\nweight = 0.5\n'
    body += f'[[loras]]\nengine = "final"\npath = "{loras / "klein_style.safetensors"}"\n'
    (styles / "inky.toml").write_text(_STYLE + body)
    req = RenderRequest(
        inputs=example_inputs(), style="inky", size=(64, 64), engine="preview", seed=3, user_styles_dir=styles
    )
    result = render(req, engines=Engines(models_dir))
    got = result.metadata["stages"]["preview"]["loras"]
    assert [(x["name"], x["weight"]) for x in got] == [("woodcut", 0.5)]  # the final's LoRA is not the preview's


def test_lora_on_a_gguf_transformer(manager, plans, painting, loras):
    plan = plans.preview(transformer_file=plans.packs["z_image_gguf"])
    plain = api.generate(manager, plan, prompt="map", image=painting, strength=0.9, seed=5)
    spec = LoraSpec(loras / "ink_wash.safetensors", 1.0)
    lora_plan = replace(plan, loras=(spec,))
    styled = api.generate(manager, lora_plan, prompt="map", image=painting, strength=0.9, seed=5)
    key = api.family_module("z_image").pipeline_key(lora_plan)
    assert "GGUF" in type(manager.pipeline(key, None).transformer.layers[0].attention.to_q.base_layer).__name__
    assert np.abs(styled.astype(int) - plain.astype(int)).mean() > 1.0


def _merged(pipe) -> list[bool]:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return [m.merged for m in pipe.transformer.modules() if isinstance(m, BaseTunerLayer)]


def test_an_unchanged_set_is_fused_and_a_change_unfuses(plans, painting, loras):
    """Fused (second image with the same set) gives the unfused pixels; switching or dropping the LoRA
    unfuses, and the plain picture comes back: the merge is undone, the pipeline is not rebuilt."""
    m = ModelManager()
    try:
        a, b = LoraSpec(loras / "ink_wash.safetensors", 0.8), LoraSpec(loras / "woodcut.safetensors", 1.0)
        plain = _preview(m, plans, painting)
        first = _preview(m, plans, painting, a)
        pipe = m.pipeline(api.family_module("z_image").pipeline_key(plans.preview()), None)
        builds = m.stats["pipeline_builds"]
        assert not lora.is_fused(pipe.transformer) and not any(_merged(pipe))
        fused = _preview(m, plans, painting, a)
        assert lora.is_fused(pipe.transformer) and all(_merged(pipe))
        assert np.abs(fused.astype(int) - first.astype(int)).max() <= 1
        assert np.abs(fused.astype(int) - plain.astype(int)).mean() > 1.0  # the LoRA is still in the picture
        assert np.array_equal(_preview(m, plans, painting, a), fused)  # stays fused
        other = _preview(m, plans, painting, b)  # a change: unfused, then b alone
        assert not lora.is_fused(pipe.transformer) and not any(_merged(pipe))
        other_fused = _preview(m, plans, painting, b)
        assert lora.is_fused(pipe.transformer)
        assert np.abs(other_fused.astype(int) - other.astype(int)).max() <= 1
        assert np.abs(other.astype(int) - first.astype(int)).mean() > 1.0
        back = _preview(m, plans, painting)
        assert not lora.is_fused(pipe.transformer)
        assert np.abs(back.astype(int) - plain.astype(int)).max() <= 1
        assert m.stats["pipeline_builds"] == builds
    finally:
        m.unload()


def test_offloaded_plans_are_not_fused(plans, painting, loras):
    m = ModelManager()
    try:
        a = LoraSpec(loras / "ink_wash.safetensors", 1.0)
        for _ in range(2):
            api.generate(m, plans.preview(loras=(a,), offload="group"), prompt="map", image=painting, seed=5)
        pipe = m.pipeline(api.family_module("z_image").pipeline_key(plans.preview()), None)
        assert not lora.is_fused(pipe.transformer)
    finally:
        m.unload()


def test_loras_on_a_gguf_transformer_stay_unfused_and_say_so(plans, painting, loras):
    m = ModelManager()
    try:
        plan = plans.preview(transformer_file=plans.packs["z_image_gguf"],
                             loras=(LoraSpec(loras / "ink_wash.safetensors", 1.0),))  # fmt: skip
        once = api.generate(m, plan, prompt="map", image=painting, strength=0.9, seed=5)
        twice = api.generate(m, plan, prompt="map", image=painting, strength=0.9, seed=5)
        pipe = m.pipeline(api.family_module("z_image").pipeline_key(plan), None)
        assert lora.is_gguf(pipe.transformer) and not lora.can_fuse(pipe.transformer)
        assert not lora.is_fused(pipe.transformer) and not any(_merged(pipe))
        assert np.array_equal(once, twice)
        assert "GGUF" in lora.fuse_note(plan) and "unfused" in lora.fuse_note(plan)
        assert lora.fuse_note(plans.preview(loras=plan.loras)) == ""  # safetensors weights fuse
        assert lora.fuse_note(replace(plan, loras=())) == ""  # no LoRA, nothing to say
    finally:
        m.unload()


def test_a_style_names_an_imported_lora_by_id(models_dir, loras, tmp_path):
    import hashlib

    from app.cli import example_inputs
    from app.jobs.ai import Engines
    from app.jobs.render import RenderRequest, render
    from app.models.loras import LoraLibrary

    LoraLibrary(models_dir).import_file(loras / "woodcut.safetensors")
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "inky.toml").write_text(_STYLE + '[[loras]]\nengine = "preview"\nid = "woodcut"\nweight = 0.5\n')
    req = RenderRequest(
        inputs=example_inputs(), style="inky", size=(64, 64), engine="preview", seed=3, user_styles_dir=styles
    )
    got = render(req, engines=Engines(models_dir)).metadata["stages"]["preview"]["loras"]
    digest = hashlib.sha256((loras / "woodcut.safetensors").read_bytes()).hexdigest()
    assert got == [{"name": "woodcut", "sha256": digest, "weight": 0.5, "id": "woodcut"}]
