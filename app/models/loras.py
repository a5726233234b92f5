"""Imported LoRAs: `.safetensors` files copied into `<models>/loras/`, listed with name, base model, size, sha256.

No torch here: a LoRA is checked from its safetensors header alone (the JSON table of tensor names and
shapes, and `__metadata__`), so the window and `mapbrush models loras` can validate a file anywhere.
The inference side (app/inference/lora.py) checks it again against the real transformer before loading.

A style or `--lora` names an imported LoRA by its id (`lora:ink_wash`, or `ink_wash` alone), or a hub file
(`hub:owner/repo/path/file.safetensors`) once `mapbrush models loras import hub:…` has downloaded it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

FOLDER = "loras"
INDEX = "index.json"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
_MAX_HEADER = 100 * 1024 * 1024
# base model families MapBrush's engines can use, and the engine each goes with
BASES = {"z-image": ("Z-Image", "preview"), "flux2": ("FLUX.2", "final")}


@dataclass(frozen=True)
class LoraFile:
    id: str  # what a style's [[loras]] id or --lora names
    name: str
    base: str  # "z-image" | "flux2" | "flux" (FLUX, version unknown) | other families' names | ""
    size_bytes: int
    sha256: str
    path: Path
    source: str = ""  # where it was imported from (a path, or hub:owner/repo/file)

    @property
    def base_label(self) -> str:
        return base_label(self.base)

    @property
    def engine(self) -> str | None:
        """The AI engine this LoRA belongs to ("preview" for Z-Image, "final" for FLUX.2), None when unknown."""
        return BASES.get(self.base, (None, None))[1]


def base_label(base: str) -> str:
    names = {"z-image": "Z-Image", "flux2": "FLUX.2", "flux": "FLUX", "sd": "Stable Diffusion", "": "unknown"}
    return names.get(base, base)


# ----- reading a file ------------------------------------------------------------------------------
def read_header(path: Path) -> tuple[dict[str, list[int]], dict]:
    """(tensor name -> shape, __metadata__) of a safetensors file; InputError naming the file otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError("too short")
            (n,) = struct.unpack("<Q", head)
            if not 2 <= n <= _MAX_HEADER:
                raise ValueError("no safetensors header")
            header = json.loads(fh.read(n))
        if not isinstance(header, dict):
            raise ValueError("the header is not a table")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, ValueError, struct.error) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({exc})") from None
    meta = header.pop("__metadata__", None) or {}
    return {k: list(v.get("shape", [])) for k, v in header.items() if isinstance(v, dict)}, meta


def guess_base(keys, meta: dict) -> str:
    """The base model family from the file's metadata or its key names; "" when unknown."""
    for field in ("modelspec.architecture", "ss_base_model_version", "base_model"):
        value = str(meta.get(field) or "").lower()
        if value:
            if "z-image" in value or "z_image" in value or "zimage" in value or "lumina" in value:
                return "z-image"
            if "flux.2" in value or "flux-2" in value or "flux2" in value or "klein" in value:
                return "flux2"
            if "flux" in value:
                return "flux"
            if "sd" in value or "stable" in value:
                return "sd"
    text = " ".join(keys).replace("_", ".")
    if "noise.refiner" in text or "context.refiner" in text or ".attention.to.q" in text or "adaln.modulation" in text:
        return "z-image"
    if "to.qkv.mlp.proj" in text or "double.stream.modulation" in text or "single.stream.modulation" in text:
        return "flux2"  # FLUX.2's fused single-block projection and shared modulation
    if any(w in text for w in ("single.transformer.blocks", "single.blocks", "double.blocks", "img.attn")):
        return "flux"
    if "down.blocks" in text or "input.blocks" in text or ("lora.te" in text and "unet" in text):
        return "sd"
    if "transformer.blocks" in text and ".attn." in text:
        return "flux"
    return ""


def is_lora(keys) -> bool:
    marks = ("lora_A", "lora_B", "lora_down", "lora_up", "lora.down", "lora.up", ".alpha")
    return any(any(m in k for m in marks) for k in keys)


def check(path: Path) -> tuple[str, dict]:
    """(base family, metadata) of a LoRA file that may be imported; a one-line InputError otherwise."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise InputError(f"{path}: {suffix} files are pickles, which can run code when opened; "
                         "MapBrush imports LoRAs only as .safetensors")  # fmt: skip
    if suffix != ".safetensors":
        raise InputError(f"{path}: not a LoRA file (MapBrush imports LoRAs only as .safetensors)")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    keys, meta = read_header(path)
    if not is_lora(keys):
        raise InputError(f"{path}: this safetensors file holds no LoRA weights (no lora_A/lora_B or "
                         "lora_down/lora_up tensors)")  # fmt: skip
    base = guess_base(keys, meta)
    if base == "sd":
        raise InputError(f"{path}: this LoRA was made for Stable Diffusion; MapBrush's engines are Z-Image "
                         "(preview) and FLUX.2 Klein (final)")  # fmt: skip
    return base, meta


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")
    return s or "lora"


# ----- the library ----------------------------------------------------------------------------------
class LoraLibrary:
    """The imported LoRAs in `<models dir>/loras`: an index (id -> record) beside the copied files."""

    def __init__(self, models_dir: str | Path | None = None) -> None:
        if models_dir is None:
            from app.paths import models_dir as default

            models_dir = default()
        self.root = Path(models_dir) / FOLDER

    def _load(self) -> dict:
        path = self.root / INDEX
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "loras": {}}
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{path}: the LoRA index is corrupt; remove it and import the LoRAs again") from None
        data.setdefault("loras", {})
        return data

    def _save(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / (INDEX + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.root / INDEX)

    def list(self) -> list[LoraFile]:
        """Every imported LoRA whose file is still there, by id; files dropped into the folder by hand too."""
        data = self._load()
        out, changed = {}, False
        for lid, rec in data["loras"].items():
            path = self.root / rec["file"]
            if path.is_file():
                out[lid] = self._view(lid, rec)
        for path in sorted(self.root.glob("*.safetensors")) if self.root.is_dir() else []:
            if any(rec["file"] == path.name for rec in data["loras"].values()):
                continue
            try:
                base, _ = check(path)
            except InputError:
                continue  # not a LoRA: left alone, not listed
            lid = self._free_id(data, path.stem)
            data["loras"][lid] = self._record(path, base, source=str(path))
            out[lid] = self._view(lid, data["loras"][lid])
            changed = True
        if changed:
            self._save(data)
        return [out[k] for k in sorted(out)]

    def get(self, lid: str) -> LoraFile | None:
        return next((f for f in self.list() if f.id == lid), None)

    def _view(self, lid: str, rec: dict) -> LoraFile:
        return LoraFile(lid, rec.get("name", lid), rec.get("base", ""), int(rec.get("size", 0)), rec.get("sha256", ""),
                        self.root / rec["file"], rec.get("source", ""))  # fmt: skip

    def _record(self, path: Path, base: str, *, source: str, name: str | None = None) -> dict:
        return {"file": path.name, "name": name or path.stem, "base": base, "size": path.stat().st_size,
                "sha256": sha256_file(path), "source": source, "added": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}  # fmt: skip

    @staticmethod
    def _free_id(data: dict, stem: str) -> str:
        base = slug(stem)
        lid, n = base, 2
        while lid in data["loras"]:
            lid, n = f"{base}-{n}", n + 1
        return lid

    def import_file(self, path: str | Path, *, source: str | None = None) -> LoraFile:
        """Check a LoRA file and copy it into the library. The same file (by sha256) imported again is the
        record already there."""
        path = Path(path).expanduser()
        base, meta = check(path)
        digest = sha256_file(path)
        data = self._load()
        for lid, rec in data["loras"].items():
            if rec.get("sha256") == digest and (self.root / rec["file"]).is_file():
                return self._view(lid, rec)
        lid = self._free_id(data, path.stem)
        self.root.mkdir(parents=True, exist_ok=True)
        dest = self.root / f"{lid}.safetensors"
        if path.resolve() != dest.resolve():
            tmp = dest.with_suffix(".safetensors.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        name = str(meta.get("ss_output_name") or meta.get("modelspec.title") or path.stem)
        data["loras"][lid] = {**self._record(dest, base, source=source or str(path), name=name), "sha256": digest}
        self._save(data)
        return self._view(lid, data["loras"][lid])

    def import_hub(self, ref: str, *, on_bytes=lambda n: None, cancel=None, endpoint: str | None = None) -> LoraFile:
        """Download `hub:owner/repo/path/file.safetensors` (resumable, the models' download code) and import it."""
        from app.jobs.cancel import NEVER
        from app.models import download as dl

        repo, file = parse_hub(ref)
        rf = dl.RemoteFile(repo, file, None, None)
        dest = dl.local_path(self.root.parent, rf)
        if not dest.is_file():
            dl.fetch_file(rf, dest, on_bytes=on_bytes, cancel=cancel or NEVER, endpoint=endpoint)
        return self.import_file(dest, source=hub_ref(repo, file))

    def remove(self, lid: str) -> None:
        data = self._load()
        rec = data["loras"].pop(lid, None)
        if rec is None:
            raise InputError(f"no imported LoRA '{lid}'")
        (self.root / rec["file"]).unlink(missing_ok=True)
        self._save(data)

    def resolve(self, ref: str) -> Path:
        """The file a LoRA id names: `lora:ID` or `ID` (imported), `hub:owner/repo/file` (imported from the hub)."""
        ref = ref.strip()
        files = self.list()
        if ref.startswith("hub:"):
            repo, file = parse_hub(ref)
            found = next((f for f in files if f.source == hub_ref(repo, file)), None)
            if found is None:
                raise InputError(f"LoRA {ref} is not downloaded yet; get it with: mapbrush models loras import {ref}")
            return found.path
        lid = ref.removeprefix("lora:")
        found = next((f for f in files if f.id == lid), None)
        if found is None:
            have = ", ".join(f.id for f in files) or "none yet"
            raise InputError(f"no imported LoRA '{lid}' (imported: {have}); add one with: "
                             "mapbrush models loras import FILE.safetensors")  # fmt: skip
        return found.path


def is_ref(text: str) -> bool:
    """Whether `text` names a LoRA by id (lora:ID, hub:…, or a bare id) rather than by a file's path."""
    text = text.strip()
    if text.startswith(("lora:", "hub:")):
        return True
    return bool(text) and "/" not in text and "\\" not in text and not text.lower().endswith(
        (".safetensors", *PICKLE_SUFFIXES))  # fmt: skip


def parse_hub(ref: str) -> tuple[str, str]:
    """("owner/repo", "path/in/repo.safetensors") from `hub:owner/repo/path/in/repo.safetensors`."""
    parts = ref.removeprefix("hub:").strip("/").split("/")
    if len(parts) < 3 or not all(parts):
        raise InputError(f"{ref}: a hub LoRA is hub:owner/repo/file.safetensors")
    file = "/".join(parts[2:])
    if not file.lower().endswith(".safetensors"):
        raise InputError(f"{ref}: MapBrush loads LoRAs only as .safetensors")
    return "/".join(parts[:2]), file


def hub_ref(repo: str, file: str) -> str:
    return f"hub:{repo}/{file}"
