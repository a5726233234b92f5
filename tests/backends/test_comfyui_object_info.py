"""Every graph we emit, checked against a real ComfyUI's node definitions (its `/object_info`, recorded).

tests/data/comfyui_object_info.json is GET /object_info of ComfyUI 0.30.0 (upstream commit 0ab8332b) with the
ComfyUI-GGUF custom node, started with `main.py --cpu` and no models, trimmed to the classes graphs.py uses;
its `_comfyui` entry names the versions. No network: the file is the server.
"""

import json
from pathlib import Path

import pytest

from app.backends.comfyui.graphs import NODES, StageSpec, build_stage

INFO = json.loads((Path(__file__).resolve().parents[1] / "data" / "comfyui_object_info.json").read_text("utf-8"))
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
# Combos whose options are the server's files (empty or a sample on a server without models): any name goes.
FILE_INPUTS = {("LoadImage", "image"), ("UNETLoader", "unet_name"), ("UnetLoaderGGUF", "unet_name"),
               ("CLIPLoader", "clip_name"), ("VAELoader", "vae_name"), ("ModelPatchLoader", "name")}  # fmt: skip

SPECS = {
    "img2img": StageSpec("preview", "z-image-turbo", "bf16", "an ink map", 1234, 8, 1024, 768, "img2img", 0.575),
    "img2img-gguf": StageSpec("preview", "z-image-turbo", "q8_0", "x", 2**40, 8, 640, 480, "img2img", 0.2),
    "controlnet": StageSpec("preview", "z-image-turbo", "bf16", "a watercolor map", 77, 8, 1024, 768, "controlnet"),
    "klein": StageSpec("final", "flux2-klein-4b", "bf16", "an antique map", 99, 4, 1536, 1152),
    "klein-gguf": StageSpec("final", "flux2-klein-4b", "q4_k_m", "x", 1, 4, 512, 512),
    "klein-9b": StageSpec("final", "flux2-klein-9b", "bf16", "x", 5, 4, 2048, 1536),
}


def definition(class_type: str) -> dict[str, tuple[list | str, dict, bool]]:
    """A class's inputs: name → (type or combo options, options, required)."""
    d = INFO[class_type]["input"]
    out = {}
    for section, required in (("required", True), ("optional", False)):
        for name, spec in (d.get(section) or {}).items():
            typ, opts = spec[0], (spec[1] if len(spec) > 1 else {}) or {}
            if typ == "COMBO":
                typ = opts["options"]
            out[name] = (typ, opts, required)
    return out


def check_value(class_type: str, name: str, value) -> None:
    typ, opts, _ = definition(class_type)[name]
    where = f"{class_type}.{name}={value!r}"
    if isinstance(typ, list):
        if (class_type, name) in FILE_INPUTS:
            assert isinstance(value, str) and value, where
        else:
            assert value in typ, f"{where} is not one of {typ}"
        return
    if typ == "INT":
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif typ == "FLOAT":
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif typ == "STRING":
        assert isinstance(value, str), where
    elif typ == "BOOLEAN":
        assert isinstance(value, bool), where
    else:
        raise AssertionError(f"{where}: {typ} is a link type, not a widget")
    if "min" in opts:
        assert value >= opts["min"], where
    if "max" in opts:
        assert value <= opts["max"], where


def test_the_recording_names_its_comfyui_and_has_every_class_we_use():
    head = INFO["_comfyui"]
    assert head["version"] == "0.30.0" and head["commit"].startswith("0ab8332b")
    assert set(NODES) <= set(INFO), sorted(set(NODES) - set(INFO))


@pytest.mark.parametrize("class_type", sorted(NODES))
def test_our_node_table_is_the_servers(class_type):
    links, widgets, outputs = NODES[class_type]
    d = definition(class_type)
    server_links = {n: t for n, (t, _, _) in d.items() if isinstance(t, str) and t not in WIDGET_TYPES}
    assert dict(links) == server_links, class_type  # names and types of every linked input
    ours = [w for w in widgets if not w.startswith("~")]
    server_widgets = [n for n, (t, _, _) in d.items() if n not in server_links]
    assert ours == server_widgets, class_type  # the UI's widgets_values order is the definition's
    assert [t for _, t in outputs] == INFO[class_type]["output"], class_type
    assert [n for n, _ in outputs] == INFO[class_type]["output_name"], class_type
    seeds = [n for n, (_, o, _) in d.items() if o.get("control_after_generate")]
    assert [w for w in widgets if w == "~control_after_generate"] == ["~control_after_generate"] * len(seeds)
    for seed in seeds:  # the UI's extra widget follows the seed
        assert widgets[widgets.index(seed) + 1] == "~control_after_generate"


@pytest.mark.parametrize("case", SPECS)
def test_every_graph_we_emit_is_valid_for_the_server(case):
    api = build_stage(SPECS[case]).api()
    checked = 0
    for key, node in api.items():
        ct = node["class_type"]
        assert ct in INFO, f"node {key}: ComfyUI has no class {ct}"
        d = definition(ct)
        assert set(node["inputs"]) <= set(d), (ct, set(node["inputs"]) - set(d))
        missing = {n for n, (_, _, req) in d.items() if req} - set(node["inputs"])
        assert not missing, f"{ct} lacks required inputs {sorted(missing)}"
        for name, value in node["inputs"].items():
            typ = d[name][0]
            if isinstance(value, list):  # a link: [source node id, output slot]
                src, slot = value
                assert isinstance(typ, str) and typ not in WIDGET_TYPES, f"{ct}.{name} is a widget, given a link"
                out_types = INFO[api[src]["class_type"]]["output"]
                assert 0 <= slot < len(out_types), (ct, name)
                assert out_types[slot] in (typ, "*"), f"{ct}.{name} wants {typ}, gets {out_types[slot]}"
            else:
                check_value(ct, name, value)
            checked += 1
    assert checked >= 25


def test_the_checks_catch_a_wrong_enum_a_missing_input_and_a_bad_link():
    with pytest.raises(AssertionError):
        check_value("KSampler", "sampler_name", "res_multistep_typo")
    with pytest.raises(AssertionError):
        check_value("CLIPLoader", "type", "zimage")
    with pytest.raises(AssertionError):
        check_value("KSampler", "steps", 0)
    check_value("KSampler", "scheduler", "simple")
    assert definition("KSampler")["denoise"][2] and not definition("QwenImageDiffsynthControlnet")["mask"][2]
    assert INFO["VAEEncode"]["output"] == ["LATENT"] and definition("VAEDecode")["samples"][0] == "LATENT"
