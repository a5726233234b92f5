"""ComfyUI graphs for our AI stages: the API-format `prompt` and the UI `workflow`, from stock nodes.

The graphs follow ComfyUI's official templates (package comfyui-workflow-templates-json):
- preview, img2img: LoadImage(sketch) → VAEEncode → KSampler(denoise = strength), the model through
  ModelSamplingAuraFlow (shift 3), CLIPLoader type lumina2, negative = ConditioningZeroOut(positive);
- preview, ControlNet: EmptySD3LatentImage, the model patched by ModelPatchLoader → QwenImageDiffsynthControlnet
  with the structure image;
- final (FLUX.2 Klein): CLIPLoader type flux2; each reference (the preview, then the structure image)
  ImageScaleToTotalPixels → VAEEncode → ReferenceLatent on both the positive and the zeroed negative; then
  EmptyFlux2LatentImage, Flux2Scheduler, CFGGuider (cfg 1), KSamplerSelect euler, RandomNoise, SamplerCustomAdvanced.
GGUF variants load with ComfyUI-GGUF's UnetLoaderGGUF instead of UNETLoader. No torch, no Qt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "NODES",
    "REFERENCE_IMAGE",
    "SKETCH_IMAGE",
    "STRUCTURE_IMAGE",
    "Graph",
    "StageSpec",
    "build_stage",
    "embedded_inputs",
    "graphs_for_metadata",
    "server_variants",
    "spec_from_metadata",
]

SKETCH_IMAGE = "mapbrush_sketch.png"
STRUCTURE_IMAGE = "mapbrush_structure.png"
REFERENCE_IMAGE = "mapbrush_reference.png"
CONTROL_STRENGTH = 0.75  # app.inference.pipelines.z_image.CONTROL_SCALE (a test keeps them equal)
AURAFLOW_SHIFT = 3.0  # Z-Image-Turbo's flow shift, as in its scheduler config and ComfyUI's template

# class_type → (linked inputs (name, type), widgets in widgets_values order, outputs (name, type)).
# A widget named "~name" is the UI's alone (control_after_generate, the upload button): it is in
# widgets_values but not in the API graph.
NODES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "LoadImage": ((), ("image", "~upload"), (("IMAGE", "IMAGE"), ("MASK", "MASK"))),
    "UNETLoader": ((), ("unet_name", "weight_dtype"), (("MODEL", "MODEL"),)),
    "UnetLoaderGGUF": ((), ("unet_name",), (("MODEL", "MODEL"),)),
    "CLIPLoader": ((), ("clip_name", "type", "device"), (("CLIP", "CLIP"),)),
    "VAELoader": ((), ("vae_name",), (("VAE", "VAE"),)),
    "ModelSamplingAuraFlow": ((("model", "MODEL"),), ("shift",), (("MODEL", "MODEL"),)),
    "CLIPTextEncode": ((("clip", "CLIP"),), ("text",), (("CONDITIONING", "CONDITIONING"),)),
    "ConditioningZeroOut": ((("conditioning", "CONDITIONING"),), (), (("CONDITIONING", "CONDITIONING"),)),
    "VAEEncode": ((("pixels", "IMAGE"), ("vae", "VAE")), (), (("LATENT", "LATENT"),)),
    "VAEDecode": ((("samples", "LATENT"), ("vae", "VAE")), (), (("IMAGE", "IMAGE"),)),
    "KSampler": (
        (("model", "MODEL"), ("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("latent_image", "LATENT")),
        ("seed", "~control_after_generate", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
        (("LATENT", "LATENT"),),
    ),
    "SaveImage": ((("images", "IMAGE"),), ("filename_prefix",), (("images", "IMAGE"),)),  # ComfyUI 0.30: an output
    "EmptySD3LatentImage": ((), ("width", "height", "batch_size"), (("LATENT", "LATENT"),)),
    "ModelPatchLoader": ((), ("name",), (("MODEL_PATCH", "MODEL_PATCH"),)),
    "QwenImageDiffsynthControlnet": (
        (("model", "MODEL"), ("model_patch", "MODEL_PATCH"), ("vae", "VAE"), ("image", "IMAGE"), ("mask", "MASK")),
        ("strength",),
        (("MODEL", "MODEL"),),
    ),
    "ImageScaleToTotalPixels": (
        (("image", "IMAGE"),),
        ("upscale_method", "megapixels", "resolution_steps"),
        (("IMAGE", "IMAGE"),),
    ),
    "ReferenceLatent": (
        (("conditioning", "CONDITIONING"), ("latent", "LATENT")),
        (),
        (("CONDITIONING", "CONDITIONING"),),
    ),
    "EmptyFlux2LatentImage": ((), ("width", "height", "batch_size"), (("LATENT", "LATENT"),)),
    "Flux2Scheduler": ((), ("steps", "width", "height"), (("SIGMAS", "SIGMAS"),)),
    "CFGGuider": (
        (("model", "MODEL"), ("positive", "CONDITIONING"), ("negative", "CONDITIONING")),
        ("cfg",),
        (("GUIDER", "GUIDER"),),
    ),
    "KSamplerSelect": ((), ("sampler_name",), (("SAMPLER", "SAMPLER"),)),
    "RandomNoise": ((), ("noise_seed", "~control_after_generate"), (("NOISE", "NOISE"),)),
    "SamplerCustomAdvanced": (
        (
            ("noise", "NOISE"),
            ("guider", "GUIDER"),
            ("sampler", "SAMPLER"),
            ("sigmas", "SIGMAS"),
            ("latent_image", "LATENT"),
        ),
        (),
        (("output", "LATENT"), ("denoised_output", "LATENT")),
    ),
}

# The files each model needs, named as ComfyUI's folders hold them (models/diffusion_models, unet,
# text_encoders, vae, model_patches): Comfy-Org's split files, or the GGUF file of models.toml.
_FILES = {
    "z-image-turbo": {
        "unet": "z_image_turbo_bf16.safetensors",
        "clip": "qwen_3_4b.safetensors",
        "clip_type": "lumina2",
        "vae": "ae.safetensors",
    },
    "flux2-klein-4b": {
        "unet": "flux-2-klein-4b.safetensors",
        "clip": "qwen_3_4b.safetensors",
        "clip_type": "flux2",
        "vae": "flux2-vae.safetensors",
    },
    "flux2-klein-9b": {
        "unet": "flux-2-klein-9b.safetensors",
        "clip": "qwen_3_8b.safetensors",
        "clip_type": "flux2",
        "vae": "flux2-vae.safetensors",
    },
}
_CONTROLNET_FILE = "Z-Image-Turbo-Fun-Controlnet-Union.safetensors"  # when models.toml names none


@dataclass
class _Node:
    id: int
    type: str
    widgets: dict[str, Any]
    links: dict[str, tuple[int, int]]


@dataclass
class Graph:
    """A ComfyUI graph being built: nodes with widget values and links (source node id, output slot)."""

    nodes: list[_Node] = field(default_factory=list)

    def add(self, class_type: str, links: dict[str, tuple[int, int]] | None = None, **widgets: Any) -> int:
        inputs, names, _ = NODES[class_type]
        links = dict(links or {})
        unknown = (set(links) - {n for n, _ in inputs}) | (set(widgets) - {n.lstrip("~") for n in names})
        if unknown:
            raise ValueError(f"{class_type} has no input {sorted(unknown)}")
        for src, slot in links.values():
            src_type = next(n.type for n in self.nodes if n.id == src)
            if slot >= len(NODES[src_type][2]):
                raise ValueError(f"{src_type} has no output {slot}")
        node = _Node(len(self.nodes) + 1, class_type, widgets, links)
        self.nodes.append(node)
        return node.id

    def api(self) -> dict[str, dict]:
        """The API-format graph (the `prompt` ComfyUI queues and stores in its PNGs)."""
        out = {}
        for n in self.nodes:
            inputs: dict[str, Any] = {k: v for k, v in n.widgets.items() if k in NODES[n.type][1]}
            inputs.update({k: [str(src), slot] for k, (src, slot) in n.links.items()})
            out[str(n.id)] = {"class_type": n.type, "inputs": inputs, "_meta": {"title": n.type}}
        return out

    def workflow(self) -> dict[str, Any]:
        """The UI graph (LiteGraph, as the ComfyUI frontend saves it), laid out in columns by depth."""
        links: list[list] = []
        outgoing: dict[tuple[int, int], list[int]] = {}
        incoming: dict[tuple[int, str], int] = {}
        types = {n.id: n.type for n in self.nodes}
        for n in self.nodes:
            for name, (src, slot) in n.links.items():
                target_slot = [i for i, _ in NODES[n.type][0]].index(name)
                link_id = len(links) + 1
                links.append([link_id, src, slot, n.id, target_slot, NODES[types[src]][2][slot][1]])
                outgoing.setdefault((src, slot), []).append(link_id)
                incoming[(n.id, name)] = link_id
        depth: dict[int, int] = {}
        for n in self.nodes:  # nodes are added after their sources
            depth[n.id] = max((depth[s] + 1 for s, _ in n.links.values()), default=0)
        rows: dict[int, int] = {}
        nodes = []
        for order, n in enumerate(self.nodes):
            inputs, names, outputs = NODES[n.type]
            row = rows[depth[n.id]] = rows.get(depth[n.id], -1) + 1
            nodes.append(
                {
                    "id": n.id,
                    "type": n.type,
                    "pos": [40 + 340 * depth[n.id], 40 + 200 * row],
                    "size": [300, 120],
                    "flags": {},
                    "order": order,
                    "mode": 0,
                    "inputs": [{"name": i, "type": t, "link": incoming.get((n.id, i))} for i, t in inputs],
                    "outputs": [
                        {"name": o, "type": t, "links": outgoing.get((n.id, s), [])} for s, (o, t) in enumerate(outputs)
                    ],
                    "properties": {"Node name for S&R": n.type},
                    "widgets_values": [_ui_widget(n, w) for w in names],
                }
            )
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, repr(self.api()))),
            "revision": 0,
            "last_node_id": len(self.nodes),
            "last_link_id": len(links),
            "nodes": nodes,
            "links": links,
            "groups": [],
            "config": {},
            "extra": {"mapbrush": True},
            "version": 0.4,
        }


def _ui_widget(node: _Node, name: str) -> Any:
    if name == "~control_after_generate":
        return "fixed"  # our seed, kept: the graph reproduces the picture
    if name == "~upload":
        return "image"
    return node.widgets[name]


@dataclass(frozen=True)
class StageSpec:
    """What one AI stage ran with, enough to rebuild it in ComfyUI."""

    stage: str  # "preview" | "final"
    model: str  # models.toml id
    variant: str
    prompt: str
    seed: int
    steps: int
    width: int
    height: int
    guide: str = "img2img"  # preview: "img2img" | "controlnet"
    denoise: float = 1.0  # img2img strength


def build_stage(spec: StageSpec) -> Graph:
    """The graph that reproduces a stage with stock ComfyUI nodes (ValueError for a model we have no graph for)."""
    files = _FILES.get(spec.model)
    if files is None:
        raise ValueError(f"no ComfyUI graph for model '{spec.model}'")
    g = Graph()
    gguf_file = _gguf_file(spec.model, spec.variant)
    if gguf_file:
        unet = g.add("UnetLoaderGGUF", unet_name=gguf_file)
    else:
        unet = g.add("UNETLoader", unet_name=files["unet"], weight_dtype="default")
    clip = g.add("CLIPLoader", clip_name=files["clip"], type=files["clip_type"], device="default")
    vae = g.add("VAELoader", vae_name=files["vae"])
    positive = g.add("CLIPTextEncode", {"clip": (clip, 0)}, text=spec.prompt)
    negative = g.add("ConditioningZeroOut", {"conditioning": (positive, 0)})
    if spec.stage == "final":
        latent_out = _klein(g, spec, unet, vae, positive, negative)
    else:
        latent_out = _z_image(g, spec, unet, vae, positive, negative)
    decoded = g.add("VAEDecode", {"samples": latent_out, "vae": (vae, 0)})
    g.add("SaveImage", {"images": (decoded, 0)}, filename_prefix=f"mapbrush-{spec.stage}")
    return g


def _z_image(g: Graph, spec: StageSpec, unet: int, vae: int, positive: int, negative: int) -> tuple[int, int]:
    model = unet
    if spec.guide == "controlnet":
        patch = g.add("ModelPatchLoader", name=_controlnet_file())
        structure = g.add("LoadImage", image=STRUCTURE_IMAGE)
        model = g.add(
            "QwenImageDiffsynthControlnet",
            {"model": (unet, 0), "model_patch": (patch, 0), "vae": (vae, 0), "image": (structure, 0)},
            strength=CONTROL_STRENGTH,
        )
        latent = g.add("EmptySD3LatentImage", width=spec.width, height=spec.height, batch_size=1)
        denoise = 1.0
    else:
        sketch = g.add("LoadImage", image=SKETCH_IMAGE)  # written at the stage's size (export-workflow)
        latent = g.add("VAEEncode", {"pixels": (sketch, 0), "vae": (vae, 0)})
        denoise = spec.denoise
    shifted = g.add("ModelSamplingAuraFlow", {"model": (model, 0)}, shift=AURAFLOW_SHIFT)
    sampled = g.add(
        "KSampler",
        {"model": (shifted, 0), "positive": (positive, 0), "negative": (negative, 0), "latent_image": (latent, 0)},
        seed=spec.seed,
        steps=spec.steps,
        cfg=1.0,
        sampler_name="res_multistep",
        scheduler="simple",
        denoise=round(float(denoise), 4),
    )
    return sampled, 0


def _klein(g: Graph, spec: StageSpec, unet: int, vae: int, positive: int, negative: int) -> tuple[int, int]:
    pos, neg = (positive, 0), (negative, 0)
    for name in (REFERENCE_IMAGE, STRUCTURE_IMAGE):  # our pipeline's reference images, in order
        image = g.add("LoadImage", image=name)
        scaled = g.add(
            "ImageScaleToTotalPixels",
            {"image": (image, 0)},
            upscale_method="lanczos",
            megapixels=_megapixels(spec),
            resolution_steps=16,
        )
        latent = g.add("VAEEncode", {"pixels": (scaled, 0), "vae": (vae, 0)})
        pos = (g.add("ReferenceLatent", {"conditioning": pos, "latent": (latent, 0)}), 0)
        neg = (g.add("ReferenceLatent", {"conditioning": neg, "latent": (latent, 0)}), 0)
    empty = g.add("EmptyFlux2LatentImage", width=spec.width, height=spec.height, batch_size=1)
    sigmas = g.add("Flux2Scheduler", steps=spec.steps, width=spec.width, height=spec.height)
    guider = g.add("CFGGuider", {"model": (unet, 0), "positive": pos, "negative": neg}, cfg=1.0)
    sampler = g.add("KSamplerSelect", sampler_name="euler")
    noise = g.add("RandomNoise", noise_seed=spec.seed)
    sampled = g.add(
        "SamplerCustomAdvanced",
        {
            "noise": (noise, 0),
            "guider": (guider, 0),
            "sampler": (sampler, 0),
            "sigmas": (sigmas, 0),
            "latent_image": (empty, 0),
        },
    )
    return sampled, 0


def _megapixels(spec: StageSpec) -> float:
    return max(0.01, round(spec.width * spec.height / (1024 * 1024), 3))


@lru_cache(maxsize=1)
def _catalog():
    from app.models.catalog import load_catalog

    return load_catalog()


def _gguf_file(model_id: str, variant_id: str) -> str | None:
    entry = _catalog().models.get(model_id)
    variant = entry.variants.get(variant_id) if entry else None
    if variant is not None and variant.format == "gguf" and variant.file:
        return variant.file.rsplit("/", 1)[-1]
    return None


def server_variants(model_id: str) -> list[str]:
    """The variants of a model a ComfyUI graph can load, in models.toml's order (largest first): bf16 from the
    split safetensors, GGUF ones through ComfyUI-GGUF. [] for a model we have no graph for."""
    if model_id not in _FILES:
        return []
    entry = _catalog().models.get(model_id)
    if entry is None:
        return ["bf16"]
    return [vid for vid in entry.variants if vid == "bf16" or _gguf_file(model_id, vid)]


def _controlnet_file() -> str:
    cn = _catalog().controlnet_for("z-image-turbo")
    files = [v.file for v in (cn.variants.values() if cn else ()) if v.file]
    return files[0].rsplit("/", 1)[-1] if files else _CONTROLNET_FILE


def spec_from_metadata(meta: dict, stage: str | None = None) -> StageSpec | None:
    """The StageSpec of a PNG's `mapbrush` metadata: its last AI stage (or `stage`); None when it had none."""
    stages = meta.get("stages")
    if not isinstance(stages, dict) or not stages:
        return None
    stage = stage or (meta.get("engine") if meta.get("engine") in stages else list(stages)[-1])
    info = stages.get(stage)
    if not isinstance(info, dict) or info.get("model") not in _FILES:
        return None
    try:
        width, height = (int(v) for v in info.get("resolution") or meta.get("size"))
        creativity = float(info.get("creativity", 0.5))
        strength = float(info["strength"]) if "strength" in info else 0.2 + 0.75 * min(1.0, max(0.0, creativity))
        return StageSpec(
            stage=stage,
            model=str(info["model"]),
            variant=str(info.get("variant", "bf16")),
            prompt=str(meta.get("prompt", "")),
            seed=int(meta.get("seed", 0)),
            steps=int(info["steps"]),
            width=width,
            height=height,
            guide=str(info.get("guide", "img2img")),
            denoise=min(1.0, max(strength, 1.0 / max(1, int(info["steps"])))),  # at least one step, as we ran it
        )
    except (KeyError, TypeError, ValueError):
        return None


def graphs_for_metadata(meta: dict) -> tuple[dict, dict] | None:
    """(API `prompt`, UI `workflow`) for a PNG's metadata; None when no AI stage made the picture."""
    spec = spec_from_metadata(meta)
    if spec is None:
        return None
    g = build_stage(spec)
    return g.api(), g.workflow()


def embedded_inputs(meta: dict, stages: dict) -> dict:
    """The input images a PNG must carry for its graph, {file name: HxWx3 uint8 at the stage's size}: the final
    stage's reference (`stages["reference"]`, the preview it re-rendered), which no map file can paint again.
    The sketch and structure are painted again from the map files (export-workflow); {} when nothing is needed."""
    spec = spec_from_metadata(meta)
    ref = stages.get("reference")
    if spec is None or spec.stage != "final" or ref is None:
        return {}
    import numpy as np
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(np.asarray(ref, np.uint8)[..., :3]))
    if im.size != (spec.width, spec.height):
        im = im.resize((spec.width, spec.height), Image.Resampling.LANCZOS)
    return {REFERENCE_IMAGE: np.asarray(im)}
