"""ComfyUI graphs of our AI stages, checked against ComfyUI's official workflow templates (PyPI data)."""

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from app.backends.comfyui.graphs import (
    NODES,
    REFERENCE_IMAGE,
    SKETCH_IMAGE,
    STRUCTURE_IMAGE,
    StageSpec,
    build_stage,
    graphs_for_metadata,
    spec_from_metadata,
)
from app.export.chunks import read_text_chunks
from app.export.png import write_png

ROOT = Path(__file__).resolve().parents[2]

IMG2IMG = StageSpec("preview", "z-image-turbo", "bf16", "an ink map of Harbour Town", 1234, 8, 1024, 768, "img2img",
                    0.575)  # fmt: skip
CONTROLNET = StageSpec("preview", "z-image-turbo", "bf16", "a watercolor map", 77, 8, 1024, 768, "controlnet")
KLEIN = StageSpec("final", "flux2-klein-4b", "bf16", "an antique map", 99, 4, 1536, 1152)
CASES = {
    "img2img": (IMG2IMG, "image_z_image_turbo.json"),
    "controlnet": (CONTROLNET, "image_z_image_turbo_fun_union_controlnet.json"),
    "klein": (KLEIN, "image_flux2_klein_image_edit_4b_distilled.json"),
}
# Widgets that are settings, not data: they must be the official template's values.
SETTINGS = {
    "CLIPLoader": ("type", "device"),
    "UNETLoader": ("weight_dtype",),
    "ModelSamplingAuraFlow": ("shift",),
    "KSampler": ("steps", "cfg", "sampler_name", "scheduler"),
    "CFGGuider": ("cfg",),
    "KSamplerSelect": ("sampler_name",),
    "Flux2Scheduler": ("steps",),
    "EmptySD3LatentImage": ("batch_size",),
    "EmptyFlux2LatentImage": ("batch_size",),
}
# The template's nodes our graph replaces: text-to-image latents by the sketch, preprocessing by our structure image.
NOT_OURS = {
    "img2img": {"EmptySD3LatentImage"},
    "controlnet": {"Canny", "ImageScaleToMaxDimension", "PreviewImage", "GetImageSize"},
    "klein": {"GetImageSize"},
}


def template_nodes(name: str) -> dict[str, list[dict]]:
    """The template's nodes by class name, its subgraphs' included (subgraph instances and notes left out)."""
    pkg = pytest.importorskip("comfyui_workflow_templates_json")
    data = json.loads((resources.files(pkg) / "templates" / name).read_text(encoding="utf-8"))
    graphs = [data, *data.get("definitions", {}).get("subgraphs", [])]
    subgraph_ids = {g.get("id") for g in graphs[1:]}
    out: dict[str, list[dict]] = {}
    for g in graphs:
        for node in g["nodes"]:
            if node["type"] not in subgraph_ids and not node["type"].endswith("Note"):
                out.setdefault(node["type"], []).append(node)
    return out


def all_templates() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for _, name in CASES.values():
        for t, nodes in template_nodes(name).items():
            out.setdefault(t, []).extend(nodes)
    return out


def widgets(node: dict) -> dict:
    """A UI node's widget values by name (our NODES table gives the names in widgets_values order)."""
    return dict(zip((n.lstrip("~") for n in NODES[node["type"]][1]), node["widgets_values"], strict=True))


@pytest.mark.parametrize("case", CASES)
def test_class_and_input_names_are_the_official_templates(case):
    spec, name = CASES[case]
    main, everywhere = template_nodes(name), all_templates()
    ui = build_stage(spec).workflow()
    ours = {n["type"] for n in ui["nodes"]}
    assert set(main) - NOT_OURS[case] <= ours  # every stock step of the template is in our graph
    for node in ui["nodes"]:
        official = main.get(node["type"]) or everywhere.get(node["type"])
        assert official, f"{node['type']} is in no official template"
        t = official[0]
        theirs = {i["name"] for i in t.get("inputs", [])}
        linked = {i["name"] for i in node["inputs"]}
        assert linked <= theirs, (node["type"], linked - theirs)
        assert len(node["widgets_values"]) == len(t["widgets_values"] or []), node["type"]
        promoted = {i["widget"]["name"] for i in t.get("inputs", []) if i.get("widget")}
        assert promoted <= set(widgets(node)), (node["type"], promoted)  # widget names the template shows
        for w in SETTINGS.get(node["type"], ()):
            theirs_w = dict(zip((n.lstrip("~") for n in NODES[node["type"]][1]), t["widgets_values"], strict=True))
            assert widgets(node)[w] == theirs_w[w], (node["type"], w)


@pytest.mark.parametrize("case", CASES)
def test_every_api_link_points_to_an_existing_output_of_the_right_type(case):
    api = build_stage(CASES[case][0]).api()
    links = 0
    for node in api.values():
        wanted = dict(NODES[node["class_type"]][0])
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                src, slot = value
                assert src in api, (node["class_type"], name)
                outputs = NODES[api[src]["class_type"]][2]
                assert 0 <= slot < len(outputs)
                assert outputs[slot][1] == wanted[name], (node["class_type"], name)
                links += 1
            else:
                assert name not in wanted  # a widget, never a link input given a value
        required = {n for n in wanted if n != "mask"}  # QwenImageDiffsynthControlnet's mask is optional
        assert required <= set(node["inputs"]), node["class_type"]
    assert links >= 10
    assert [n["class_type"] for n in api.values()].count("SaveImage") == 1


def by_type(api: dict, class_type: str) -> list[dict]:
    return [n["inputs"] for n in api.values() if n["class_type"] == class_type]


def test_img2img_widgets_are_what_we_used():
    api = build_stage(IMG2IMG).api()
    (ks,) = by_type(api, "KSampler")
    assert (ks["seed"], ks["steps"], ks["cfg"], ks["sampler_name"], ks["scheduler"], ks["denoise"]) == (
        1234, 8, 1.0, "res_multistep", "simple", 0.575)  # fmt: skip
    assert by_type(api, "ModelSamplingAuraFlow") == [{"shift": 3.0, "model": ["1", 0]}]
    assert by_type(api, "CLIPLoader")[0]["type"] == "lumina2"
    assert by_type(api, "CLIPTextEncode")[0]["text"] == "an ink map of Harbour Town"
    assert by_type(api, "UNETLoader")[0]["unet_name"] == "z_image_turbo_bf16.safetensors"
    (load,) = by_type(api, "LoadImage")
    assert load == {"image": SKETCH_IMAGE}
    (enc,) = [k for k, n in api.items() if n["class_type"] == "VAEEncode"]
    assert ks["latent_image"] == [enc, 0]
    zero = next(k for k, n in api.items() if n["class_type"] == "ConditioningZeroOut")
    assert ks["negative"] == [zero, 0] and api[zero]["inputs"]["conditioning"] == ks["positive"]


def test_controlnet_route_patches_the_model_with_the_structure_image():
    from app.models.catalog import load_catalog

    api = build_stage(CONTROLNET).api()
    (ks,) = by_type(api, "KSampler")
    assert ks["denoise"] == 1.0 and ks["seed"] == 77
    (cn,) = by_type(api, "QwenImageDiffsynthControlnet")
    assert api[cn["image"][0]]["inputs"] == {"image": STRUCTURE_IMAGE}
    assert api[cn["model_patch"][0]]["class_type"] == "ModelPatchLoader"
    # the catalog's default ControlNet file (its first variant: the 8-step distilled one)
    cn_file = next(iter(load_catalog().models["z-image-turbo-controlnet"].variants.values())).file
    assert api[cn["model_patch"][0]]["inputs"]["name"] == cn_file
    shifted = api[ks["model"][0]]
    assert shifted["class_type"] == "ModelSamplingAuraFlow" and shifted["inputs"]["model"][0] in {
        k for k, n in api.items() if n["class_type"] == "QwenImageDiffsynthControlnet"}  # fmt: skip
    assert by_type(api, "EmptySD3LatentImage") == [{"width": 1024, "height": 768, "batch_size": 1}]
    assert not by_type(api, "VAEEncode")
    try:
        from app.inference.pipelines.z_image import CONTROL_SCALE
    except ImportError:
        return
    assert cn["strength"] == CONTROL_SCALE


def test_klein_uses_the_preview_then_the_structure_as_references_on_both_conditionings():
    api = build_stage(KLEIN).api()
    assert by_type(api, "CLIPLoader")[0]["type"] == "flux2"
    assert by_type(api, "RandomNoise") == [{"noise_seed": 99}]
    assert by_type(api, "Flux2Scheduler") == [{"steps": 4, "width": 1536, "height": 1152}]
    assert by_type(api, "EmptyFlux2LatentImage") == [{"width": 1536, "height": 1152, "batch_size": 1}]
    assert by_type(api, "KSamplerSelect") == [{"sampler_name": "euler"}]
    (guider,) = by_type(api, "CFGGuider")
    assert guider["cfg"] == 1.0

    def chain(ref):  # the images a conditioning's ReferenceLatent chain adds, outermost first
        names = []
        while api[ref[0]]["class_type"] == "ReferenceLatent":
            node = api[ref[0]]["inputs"]
            enc = api[node["latent"][0]]["inputs"]
            scaled = api[enc["pixels"][0]]
            assert scaled["class_type"] == "ImageScaleToTotalPixels"
            names.append(api[scaled["inputs"]["image"][0]]["inputs"]["image"])
            ref = node["conditioning"]
        return names, api[ref[0]]["class_type"]

    assert chain(guider["positive"]) == ([STRUCTURE_IMAGE, REFERENCE_IMAGE], "CLIPTextEncode")
    assert chain(guider["negative"]) == ([STRUCTURE_IMAGE, REFERENCE_IMAGE], "ConditioningZeroOut")


def test_gguf_variants_load_with_unet_loader_gguf_and_the_catalog_file():
    api = build_stage(StageSpec("final", "flux2-klein-4b", "q4_k_m", "x", 1, 4, 512, 512)).api()
    assert by_type(api, "UnetLoaderGGUF") == [{"unet_name": "flux-2-klein-4b-Q4_K_M.gguf"}]
    assert not by_type(api, "UNETLoader")
    api = build_stage(StageSpec("preview", "z-image-turbo", "q8_0", "x", 1, 8, 512, 512)).api()
    assert by_type(api, "UnetLoaderGGUF") == [{"unet_name": "z_image_turbo-Q8_0.gguf"}]


@pytest.mark.parametrize("case", CASES)
def test_the_ui_graph_agrees_with_the_api_graph(case):
    g = build_stage(CASES[case][0])
    api, ui = g.api(), g.workflow()
    assert {str(n["id"]) for n in ui["nodes"]} == set(api)
    nodes = {n["id"]: n for n in ui["nodes"]}
    from_ui = set()
    for link_id, src, slot, dst, dst_slot, typ in ui["links"]:
        inp = nodes[dst]["inputs"][dst_slot]
        assert inp["link"] == link_id and inp["type"] == typ
        assert link_id in nodes[src]["outputs"][slot]["links"]
        from_ui.add((str(dst), inp["name"], str(src), slot))
    from_api = {(k, name, v[0], v[1]) for k, n in api.items() for name, v in n["inputs"].items() if isinstance(v, list)}
    assert from_ui == from_api
    assert ui["last_link_id"] == len(ui["links"]) and ui["last_node_id"] == max(nodes)
    for n in ui["nodes"]:
        values = {k: v for k, v in widgets(n).items() if k in NODES[n["type"]][1]}
        assert values == {k: v for k, v in api[str(n["id"])]["inputs"].items() if not isinstance(v, list)}
        assert api[str(n["id"])]["class_type"] == n["type"]
        if "control_after_generate" in widgets(n):
            assert widgets(n)["control_after_generate"] == "fixed"  # the seed is kept


def ai_metadata(**stage) -> dict:
    """The `mapbrush` metadata of a preview render, as jobs/render.py writes it."""
    info = {"model": "z-image-turbo", "variant": "q8_0", "tier": "cpu", "device": "cpu", "dtype": "float32",
            "offload": "none", "steps": 8, "resolution": [640, 480], "creativity": 0.5, "strength": 0.575,
            "guide": "img2img", "fidelity": 0.41, **stage}  # fmt: skip
    return {"app": "mapbrush", "style": "ink", "engine": "preview", "seed": 42, "size": [800, 600],
            "inputs": [{"name": "gone.geojson", "sha256": "0" * 64, "format": "geojson"}],
            "prompt": "a pen-and-ink map of Harbour Town", "stages": {"preview": info},
            "models": ["z-image-turbo:q8_0"]}  # fmt: skip


def test_spec_from_metadata_reads_what_the_stage_used():
    from app.jobs.ai import strength_for

    spec = spec_from_metadata(ai_metadata())
    assert spec == StageSpec("preview", "z-image-turbo", "q8_0", "a pen-and-ink map of Harbour Town", 42, 8, 640, 480,
                             "img2img", 0.575)  # fmt: skip
    older = ai_metadata()
    del older["stages"]["preview"]["strength"]  # PNGs from before strength was recorded
    assert spec_from_metadata(older).denoise == pytest.approx(strength_for(0.5))
    assert spec_from_metadata({"engine": "procedural", "seed": 1}) is None
    assert graphs_for_metadata({"stages": {"preview": {"model": "unknown"}}}) is None


def read_chunks(path):
    chunks = read_text_chunks(path, {"prompt", "workflow", "mapbrush"})
    return json.loads(chunks["prompt"]), json.loads(chunks["workflow"]), json.loads(chunks["mapbrush"])


def test_an_ai_png_carries_prompt_and_workflow_and_a_procedural_one_does_not(tmp_path):
    image = np.full((60, 80, 3), 200, np.uint8)
    write_png(tmp_path / "ai.png", image, ai_metadata())
    prompt, workflow, meta = read_chunks(tmp_path / "ai.png")
    assert (prompt, workflow) == graphs_for_metadata(meta)
    assert by_type(prompt, "KSampler")[0]["seed"] == 42
    meta = {**ai_metadata(), "prompt": "карта Хельсинки, 東京"}  # tEXt as ComfyUI writes, non-Latin text escaped
    write_png(tmp_path / "ru.png", image, meta)
    assert by_type(read_chunks(tmp_path / "ru.png")[0], "CLIPTextEncode")[0]["text"] == meta["prompt"]
    raw = (tmp_path / "ru.png").read_bytes()
    assert b"tEXtprompt\x00" in raw and b"tEXtworkflow\x00" in raw
    write_png(tmp_path / "plain.png", image, {"app": "mapbrush", "engine": "procedural", "seed": 1})
    assert set(read_text_chunks(tmp_path / "plain.png", {"prompt", "workflow"})) == set()


def cli(*args, models_dir=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if models_dir is not None:
        env["MAPBRUSH_MODELS_DIR"] = str(models_dir)
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)  # fmt: skip


def test_export_workflow_without_the_map_files_says_so_and_writes_the_graphs(tmp_path):
    write_png(tmp_path / "ai.png", np.full((60, 80, 3), 200, np.uint8), ai_metadata())
    proc = cli("export-workflow", tmp_path / "ai.png", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    note = [line for line in proc.stderr.splitlines() if line]
    assert len(note) == 1 and "gone.geojson" in note[0] and "not written" in note[0]
    ui = json.loads((tmp_path / "out" / "ai.json").read_text())
    api = json.loads((tmp_path / "out" / "ai.api.json").read_text())
    assert (api, ui) == graphs_for_metadata(ai_metadata())
    assert not (tmp_path / "out" / SKETCH_IMAGE).exists()


def test_export_workflow_errors_are_one_line(tmp_path):
    write_png(tmp_path / "plain.png", np.full((60, 80, 3), 200, np.uint8), {"app": "mapbrush", "engine": "procedural"})
    proc = cli("export-workflow", tmp_path / "plain.png", tmp_path / "out")
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "plain.png" in proc.stderr and "AI engine" in proc.stderr
    proc = cli("export-workflow", tmp_path / "missing.png", tmp_path / "out")
    assert proc.returncode != 0 and "not found" in proc.stderr and "Traceback" not in proc.stderr


# ----- a real AI render with the tiny packs, on the CPU --------------------------------------------------------------


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from app.inference.packs import build_all
    from app.jobs.ai import Engines

    packs = build_all(tmp_path_factory.mktemp("packs"))
    root = tmp_path_factory.mktemp("models")
    engines = Engines(root)
    for name in ("z_image", "klein"):
        engines.store.import_path(packs[name])
    return root


def test_tiny_ai_renders_embed_graphs_that_export_with_their_images(models_dir, tmp_path):
    from PIL import Image

    prev, final = tmp_path / "prev.png", tmp_path / "final.png"
    proc = cli("render", "--example", "--style", "ink", "--engine", "preview", "--size", "128x96", "--seed", "5",
               "-o", prev, models_dir=models_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    prompt, workflow, meta = read_chunks(prev)
    (ks,) = by_type(prompt, "KSampler")
    info = meta["stages"]["preview"]
    assert ks["seed"] == 5 and ks["steps"] == info["steps"] and ks["denoise"] >= info["strength"]
    assert by_type(prompt, "LoadImage") == [{"image": SKETCH_IMAGE}]
    assert len(workflow["nodes"]) == len(prompt)

    proc = cli("export-workflow", prev, tmp_path / "wf")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "wf" / "prev.api.json").read_text()) == prompt
    sketch = Image.open(tmp_path / "wf" / SKETCH_IMAGE)
    assert sketch.size == tuple(info["resolution"])
    assert np.asarray(sketch).std() > 5  # a painted map, not a blank page

    proc = cli("render", "--example", "--style", "ink", "--engine", "final", "--reference", prev, "--size", "128x96",
               "--seed", "5", "-o", final, models_dir=models_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    prompt, _, meta = read_chunks(final)
    assert by_type(prompt, "RandomNoise") == [{"noise_seed": 5}]
    assert by_type(prompt, "Flux2Scheduler")[0]["steps"] == meta["stages"]["final"]["steps"]
    proc = cli("export-workflow", final, tmp_path / "wf2")
    assert proc.returncode == 0, proc.stderr
    assert "not stored" not in proc.stderr  # the reference came from the PNG itself
    names = {p.name for p in (tmp_path / "wf2").iterdir()}
    loaded = {n["image"] for n in by_type(prompt, "LoadImage")}
    assert loaded == {STRUCTURE_IMAGE, REFERENCE_IMAGE}
    assert names == {"final.json", "final.api.json"} | loaded  # every image the graph loads, and nothing else
    assert json.loads((tmp_path / "wf2" / "final.api.json").read_text()) == prompt
    ref = np.asarray(Image.open(tmp_path / "wf2" / REFERENCE_IMAGE).convert("RGB"), np.float32)
    picture = np.asarray(Image.open(final).convert("RGB").resize(ref.shape[1::-1]), np.float32)
    assert ref.shape[1::-1] == tuple(meta["stages"]["final"]["resolution"])
    assert np.abs(ref - picture).mean() > 1  # the preview it re-rendered, not the final picture itself


def test_a_final_png_carries_its_reference_and_export_writes_it_under_the_graphs_name(tmp_path):
    from PIL import Image

    from app.backends.comfyui.graphs import embedded_inputs
    from app.export.png import read_embedded_images

    meta = ai_metadata(model="flux2-klein-4b", variant="bf16", steps=4, resolution=[320, 240])
    meta["stages"] = {"final": meta["stages"].pop("preview")}
    meta["engine"] = "final"
    yy, xx = np.mgrid[0:480, 0:640]
    reference = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)  # the preview, at 640x480
    images = embedded_inputs(meta, {"reference": reference})
    assert set(images) == {REFERENCE_IMAGE} and images[REFERENCE_IMAGE].shape == (240, 320, 3)  # the stage's size
    assert embedded_inputs(ai_metadata(), {"reference": reference}) == {}  # a preview needs none stored
    picture = np.full((600, 800, 3), 90, np.uint8)
    write_png(tmp_path / "final.png", picture, meta, images=images)
    plain = tmp_path / "plain.png"
    write_png(plain, picture, meta)
    stored = read_embedded_images(tmp_path / "final.png")
    assert set(stored) == {REFERENCE_IMAGE} and stored[REFERENCE_IMAGE][:4] == b"RIFF"  # a WebP file
    assert (tmp_path / "final.png").stat().st_size - plain.stat().st_size < 200_000
    prompt, _, read_meta = read_chunks(tmp_path / "final.png")
    assert read_meta["stages"]["final"]["model"] == "flux2-klein-4b"
    assert prompt == build_stage(spec_from_metadata(meta)).api()  # the prompt chunk parses as the graph we built

    proc = cli("export-workflow", tmp_path / "final.png", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "not stored" not in proc.stderr and "gone.geojson" in proc.stderr  # only the map files are missing
    assert json.loads((tmp_path / "out" / "final.api.json").read_text()) == prompt
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"final.json", "final.api.json", REFERENCE_IMAGE}
    written = np.asarray(Image.open(tmp_path / "out" / REFERENCE_IMAGE).convert("RGB"), np.float32)
    expected = np.asarray(Image.fromarray(reference).resize((320, 240), Image.Resampling.LANCZOS), np.float32)
    assert written.shape == expected.shape and np.abs(written - expected).mean() < 4  # WebP q90, near lossless

    proc = cli("export-workflow", plain, tmp_path / "old")  # a PNG from before: the picture stands in, said so
    assert proc.returncode == 0 and "not stored" in proc.stderr
    assert (tmp_path / "old" / REFERENCE_IMAGE).exists()
