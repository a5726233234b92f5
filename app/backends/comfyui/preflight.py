"""Before queueing: does the server have the nodes and model files a stage's graph needs? Said in plain words.

From /object_info (or /object_info/<Loader> for the loaders' file lists). No Qt, no torch.
"""

from __future__ import annotations

from app.errors import ModelUnavailable

# loader class → (widget holding the file, what it is, models/ folder, custom node pack when not stock)
LOADERS: dict[str, tuple[str, str, str, str | None]] = {
    "UNETLoader": ("unet_name", "transformer", "models/diffusion_models", None),
    "UnetLoaderGGUF": ("unet_name", "transformer", "models/unet", "ComfyUI-GGUF"),
    "CLIPLoader": ("clip_name", "text encoder", "models/text_encoders", None),
    "VAELoader": ("vae_name", "VAE", "models/vae", None),
    "ModelPatchLoader": ("name", "ControlNet", "models/model_patches", None),
}
_PACKS = {"UnetLoaderGGUF": "ComfyUI-GGUF"}


class ServerMissing(ModelUnavailable):
    """The ComfyUI server lacks a node or a model file the stage needs (exit 3, like a missing local model)."""


def combo_options(info: dict, node_class: str, widget: str) -> list[str] | None:
    """The choices an object_info entry lists for a widget (old format [[...], {}] or new ["COMBO", {"options"}])."""
    node = info.get(node_class)
    if not isinstance(node, dict):
        return None
    inputs = node.get("input") or {}
    for group in ("required", "optional"):
        spec = (inputs.get(group) or {}).get(widget)
        if isinstance(spec, list) and spec:
            if isinstance(spec[0], list):
                return [str(x) for x in spec[0]]
            if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
                return [str(x) for x in spec[1].get("options") or []]
    return None


def missing(graph: dict, info: dict, *, model_name: str = "the model") -> list[str]:
    """Plain sentences for what the server lacks to run `graph` (an API-format prompt); [] when all is there."""
    problems: list[str] = []
    for node in graph.values():
        cls = node.get("class_type")
        if cls not in info:
            pack = _PACKS.get(cls)
            problems.append(f"the server has no {cls} node" + (f"; install the {pack} custom nodes" if pack else
                            "; update ComfyUI"))  # fmt: skip
            continue
        if cls in LOADERS:
            widget, what, folder, _ = LOADERS[cls]
            wanted = node.get("inputs", {}).get(widget)
            options = combo_options(info, cls, widget)
            if isinstance(wanted, str) and options is not None and wanted not in options:
                problems.append(f"the server has no {model_name} {what}; put {wanted} in {folder}")
    return list(dict.fromkeys(problems))


def check(client, graph: dict, *, model_name: str = "the model") -> None:
    """Raise ServerMissing (one line) when the server cannot run `graph`."""
    info = client.object_info()
    problems = missing(graph, info, model_name=model_name)
    if problems:
        raise ServerMissing(f"ComfyUI at {client.config.label}: " + "; ".join(problems))
