"""What a ComfyUI server has, against the loopback ComfyUI: preflight reads /models/<folder> where the server has it
and object_info's loader lists where not; --tier picks the preset and the server runs the variant it has, in the
preset's order, and says so; the final-model picker lists the server's models; repainting and --upscale on are
refused in one line (this computer only), and a plainly enlarged picture is said."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("websockets")

from app.backends.comfyui import graphs, preflight
from app.backends.comfyui.client import ComfyClient
from app.backends.comfyui.runner import ComfyEngines, prefer
from app.errors import InputError, ModelUnavailable
from tests.backends.comfy_server import FakeComfy
from tests.backends.test_comfyui_client import config, object_info

Z_BF16, Z_Q8, Z_Q4 = "z_image_turbo_bf16.safetensors", "z_image_turbo-Q8_0.gguf", "z_image_turbo-Q4_K_M.gguf"
K4_BF16, K9_Q4 = "flux-2-klein-4b.safetensors", "flux-2-klein-9b-Q4_K_M.gguf"
COMMON = {
    "text_encoders": ["qwen_3_4b.safetensors", "qwen_3_8b.safetensors"],
    "vae": ["ae.safetensors", "flux2-vae.safetensors"],
}


def _graph(variant: str = "bf16", guide: str = "img2img") -> dict:
    spec = graphs.StageSpec("preview", "z-image-turbo", variant, "a map", 1, 8, 64, 48, guide=guide)
    return graphs.build_stage(spec).api()


def _unet(graph: dict) -> str:
    return next(n["inputs"]["unet_name"] for n in graph.values() if "unet_name" in n["inputs"])


def test_preflight_trusts_the_servers_models_routes_over_object_info_and_falls_back_without_them():
    stale = object_info()  # object_info still lists the bf16 transformer, but the folder no longer has it
    models = {**COMMON, "diffusion_models": ["zimage/" + Z_BF16.replace("bf16", "fp8")], "checkpoints": []}
    with FakeComfy(stale, models=models) as srv:
        inv = preflight.inventory(ComfyClient(config(srv.url)))
        asked = srv.paths("GET")
    assert "/models" in asked and "/models/diffusion_models" in asked and "/models/vae" in asked
    assert "/models/unet_gguf" not in asked  # the server does not list that folder: object_info's list then
    assert inv.source("UNETLoader") == "/models/diffusion_models"
    assert inv.source("UnetLoaderGGUF") == "/object_info/UnetLoaderGGUF"
    assert preflight.missing(_graph(), inv, model_name="Z-Image-Turbo") == [
        f"the server has no Z-Image-Turbo transformer; put {Z_BF16} in models/diffusion_models"
    ]
    assert preflight.missing(_graph("q8_0"), inv) == []  # the GGUF file, from object_info's UnetLoaderGGUF list

    # a file in a subfolder of the server's folder counts, and the graph gets the server's name for it
    models["diffusion_models"] = ["zimage\\" + Z_BF16]  # a Windows server
    with FakeComfy(stale, models=models) as srv:
        inv = preflight.inventory(ComfyClient(config(srv.url)))
    g = _graph()
    assert preflight.resolve(g, inv) == [] and _unet(g) == "zimage\\" + Z_BF16

    # an older server (no /models route): object_info's lists, as before
    with FakeComfy(object_info(drop_file=Z_BF16)) as srv:
        inv = preflight.inventory(ComfyClient(config(srv.url)))
    assert inv.folders == {} and inv.source("UNETLoader") == "/object_info/UNETLoader"
    assert "put z_image_turbo_bf16.safetensors in models/diffusion_models" in preflight.missing(_graph(), inv)[0]


def test_variant_order_is_the_presets_then_smaller_then_larger():
    variants = graphs.server_variants("z-image-turbo")
    assert variants == ["bf16", "q8_0", "q5_k_m", "q4_k_m"]  # models.toml's order, largest first
    assert prefer(variants, "q8_0") == ["q8_0", "q5_k_m", "q4_k_m", "bf16"]
    assert prefer(variants, "q4_k_m") == ["q4_k_m", "q5_k_m", "q8_0", "bf16"]
    assert graphs.server_variants("flux2-dev") == []  # no ComfyUI graph for it


def _options(**kw):
    from app.jobs.ai import AIOptions

    return AIOptions(**kw)


def _run(eng: ComfyEngines, stage: str = "preview", size=(64, 48), **kw):
    sketch = np.full((size[1], size[0], 3), 180, np.uint8)
    return eng.run(stage, size=size, sketch=sketch, structure=sketch, prompt="a map", negative="", creativity=0.5,
                   threshold=0.5, seed=7, options=_options(**kw))  # fmt: skip


def test_tier_on_the_server_runs_the_variant_it_has_in_the_presets_order_and_says_so():
    from app.cli import build_parser
    from app.cli_comfyui import backend_of

    args = build_parser().parse_args(["render", "x.geojson", "--engine", "preview", "--tier", "cuda-12gb",
                                      "--backend", "comfyui", "--comfyui-url", "http://127.0.0.1:9"])  # fmt: skip
    backend, cfg = backend_of(args)
    assert backend == "comfyui" and cfg.tier == "cuda-12gb"
    models = {**COMMON, "diffusion_models": [K4_BF16], "unet_gguf": [Z_Q4]}
    with FakeComfy(object_info(), models=models, steps=2) as srv:
        eng = ComfyEngines(config(srv.url, tier="cuda-12gb"))
        assert eng.tier.name == "cuda-12gb" and eng.tier.preview.variant == "q8_0"  # not the server's 24 GB preset
        res = _run(eng)
        graph = json.loads(next(b for m, p, b in srv.received if p == "/prompt"))["prompt"]
        assert "/system_stats" not in srv.paths("GET")  # the preset was named: the server's VRAM does not matter
        ok, why, name = eng.stage_state("final")
    assert _unet(graph) == Z_Q4  # cuda-12gb prefers Q8_0; the server has no Q8_0 nor Q5_K_M, so its Q4_K_M
    sampler = next(n["inputs"] for n in graph.values() if n["class_type"] == "KSampler")
    assert sampler["steps"] == eng.tier.preview.steps
    assert res.info["variant"] == "q4_k_m" and res.info["tier"] == "cuda-12gb"
    assert res.notes == ["the ComfyUI server has no Q8_0 of Z-Image-Turbo (the cuda-12gb preset's); it ran its Q4_K_M"]
    assert (ok, name) == (True, "FLUX.2 [klein] 4B BF16"), why  # Q8_0, Q5_K_M, Q4_K_M absent → the larger BF16

    # a variant asked for by name runs as named, or is refused in one line
    with FakeComfy(object_info(), models=models) as srv:
        eng = ComfyEngines(config(srv.url, tier="cuda-12gb"))
        with pytest.raises(ModelUnavailable) as e:
            eng.installed_for("final", "flux2-klein-4b:q8_0")
    assert "put flux-2-klein-4b-Q8_0.gguf in models/unet" in e.value.one_line()


def test_the_final_picker_lists_the_servers_models():
    models = {**COMMON, "diffusion_models": [K4_BF16], "unet_gguf": [K9_Q4], "model_patches": []}
    with FakeComfy(object_info(), models=models) as srv:
        eng = ComfyEngines(config(srv.url))  # 24 GB: FLUX.2 Klein 4B, and the 9B Q4 as its upgrade
        picks = eng.choices("final")
        controlnet = eng.controlnet_ready()
    assert [(c.ref, c.installed, c.default) for c in picks] == [
        ("flux2-klein-4b:bf16", True, True),
        ("flux2-klein-9b:q4_k_m", True, False),
    ]
    assert not controlnet  # the server's model_patches folder is empty
    models["unet_gguf"] = []
    models["diffusion_models"] = [K4_BF16, Z_BF16]
    models["model_patches"] = [graphs._controlnet_file()]
    with FakeComfy(object_info(), models=models) as srv:
        eng = ComfyEngines(config(srv.url))
        picks = eng.choices("final")
        assert eng.controlnet_ready()
    nine = picks[1]
    assert not nine.installed and nine.install == f"put {K9_Q4} in models/unet on the ComfyUI server"


def test_repaint_and_upscale_on_run_on_this_computer_only_and_a_plain_enlargement_is_said(tmp_path, capsys):
    from app.cli import example_inputs, main

    eng = ComfyEngines(config("http://127.0.0.1:9"))  # nothing is asked of a server to refuse
    with pytest.raises(InputError, match="repainting a region runs on this computer only") as e:
        eng.run("preview", size=(64, 48), sketch=np.zeros((48, 64, 3), np.uint8), structure=None, prompt="",
                negative="", creativity=0.5, threshold=0.5, seed=1, options=_options(),
                mask=np.ones((48, 64), bool))  # fmt: skip
    assert "\n" not in e.value.one_line()
    code = main(["render", str(example_inputs()[0]), "--engine", "preview", "--upscale", "on", "--backend", "comfyui",
                 "--comfyui-url", "http://127.0.0.1:9", "-o", str(tmp_path / "m.png")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--upscale on runs on this computer only" in err[0], err
    with FakeComfy(object_info(), steps=1) as srv:
        eng = ComfyEngines(config(srv.url, tier="cpu"))  # 512 px stages
        res = _run(eng, size=(1024, 768))  # painted at 592x448 (512² pixels): past 1.5x, where this computer upscales
    assert res.image.shape == (768, 1024, 3)
    said = "upscaling for print runs on this computer only: the ComfyUI server's 592x448 picture was enlarged plainly"
    assert any(n.startswith(said) for n in res.notes), res.notes
