"""Before queueing: does the server have the nodes and model files a stage's graph needs? Said in plain words.

Nodes from /object_info. Model files from /models/<folder> where the server has that route (ComfyUI 0.2 and later:
/models lists its folders, /models/<folder> the files in one), else from the choices /object_info lists for each
loader's file widget. A file kept in a subfolder on the server (models/unet/zimage/…) counts: the graph is given the
server's own name for it. No Qt, no torch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from app.errors import ModelUnavailable

# loader class → (widget holding the file, what it is, models/ folder, custom node pack when not stock)
LOADERS: dict[str, tuple[str, str, str, str | None]] = {
    "UNETLoader": ("unet_name", "transformer", "models/diffusion_models", None),
    "UnetLoaderGGUF": ("unet_name", "transformer", "models/unet", "ComfyUI-GGUF"),
    "CLIPLoader": ("clip_name", "text encoder", "models/text_encoders", None),
    "VAELoader": ("vae_name", "VAE", "models/vae", None),
    "ModelPatchLoader": ("name", "ControlNet", "models/model_patches", None),
}
# loader class → the server's name of its folder at /models/<name> (ComfyUI-GGUF registers "unet_gguf")
MODEL_FOLDERS = {
    "UNETLoader": "diffusion_models",
    "UnetLoaderGGUF": "unet_gguf",
    "CLIPLoader": "text_encoders",
    "VAELoader": "vae",
    "ModelPatchLoader": "model_patches",
}
_PACKS = {"UnetLoaderGGUF": "ComfyUI-GGUF"}


class ServerMissing(ModelUnavailable):
    """The ComfyUI server lacks a node or a model file the stage needs (exit 3, like a missing local model)."""

    def __init__(self, message: str, *, problems=(), path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.problems = list(problems)  # the sentences of `missing`, one per lack


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


@dataclass
class Inventory:
    """What a server has: its node classes (object_info) and, per /models folder it lists, the model files there."""

    info: dict
    folders: dict[str, list[str]] = field(default_factory=dict)

    def files(self, loader: str) -> list[str] | None:
        """The files `loader` can load on the server; None when the server does not say."""
        folder = MODEL_FOLDERS.get(loader)
        if folder in self.folders:
            return self.folders[folder]
        return combo_options(self.info, loader, LOADERS[loader][0]) if loader in LOADERS else None

    def source(self, loader: str) -> str:
        """Where the list of `loader`'s files came from (for messages and tests)."""
        folder = MODEL_FOLDERS.get(loader)
        return f"/models/{folder}" if folder in self.folders else f"/object_info/{loader}"


def inventory(client, info: dict | None = None) -> Inventory:
    """Ask the server what it has: /object_info (unless given), then /models/<folder> for our loaders' folders
    when the server lists them at /models. A server without /models (or with a folder it does not list) is read
    from object_info's loader choices instead."""
    info = client.object_info() if info is None else info
    folders: dict[str, list[str]] = {}
    listed = client.model_folders()
    if listed is not None:
        for loader, folder in MODEL_FOLDERS.items():
            if folder in listed and loader in info and folder not in folders:
                files = client.models(folder)
                if files is not None:
                    folders[folder] = files
    return Inventory(info, folders)


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def resolve(graph: dict, inv: Inventory | dict, *, model_name: str = "the model") -> list[str]:
    """Point `graph`'s loaders (an API-format prompt, changed in place) at the server's own file names, and return
    plain sentences for what the server lacks to run it; [] when all is there."""
    if isinstance(inv, dict):
        inv = Inventory(inv)
    problems: list[str] = []
    for node in graph.values():
        cls = node.get("class_type")
        if cls not in inv.info:
            pack = _PACKS.get(cls)
            problems.append(f"the server has no {cls} node" + (f"; install the {pack} custom nodes" if pack else
                            "; update ComfyUI"))  # fmt: skip
            continue
        if cls in LOADERS:
            widget, what, folder, _ = LOADERS[cls]
            wanted = node.get("inputs", {}).get(widget)
            files = inv.files(cls)
            if not isinstance(wanted, str) or files is None or wanted in files:
                continue
            same = [f for f in files if _basename(f) == wanted]
            if same:
                node["inputs"][widget] = sorted(same)[0]  # the file, in a subfolder of the server's folder
            else:
                problems.append(f"the server has no {model_name} {what}; put {wanted} in {folder}")
    return list(dict.fromkeys(problems))


def missing(graph: dict, info: Inventory | dict, *, model_name: str = "the model") -> list[str]:
    """Plain sentences for what the server lacks to run `graph` (left as it is); [] when all is there."""
    return resolve(copy.deepcopy(graph), info, model_name=model_name)


def check(client, graph: dict, *, model_name: str = "the model") -> None:
    """Raise ServerMissing (one line) when the server cannot run `graph`."""
    problems = resolve(graph, inventory(client), model_name=model_name)
    if problems:
        raise ServerMissing(f"ComfyUI at {client.config.label}: " + "; ".join(problems), problems=problems)
