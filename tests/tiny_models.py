"""Tiny random-weight models installed in a models folder exactly as downloads are.

    python -m tests.tiny_models OUTDIR
    MAPBRUSH_MODELS_DIR=OUTDIR python -m app models list
    MAPBRUSH_MODELS_DIR=OUTDIR python -m app render --example --engine preview --size 128x96 -o x.png

Each repo of the catalog gets its folder under `OUTDIR/hub/<owner>--<name>/` with the files the
catalog names (a diffusers folder, or one GGUF / safetensors file), and `ModelStore.adopt` writes
the registry the way a download does. Installed: Z-Image-Turbo (bf16 folder + Q8_0 GGUF), its
ControlNet, FLUX.2 Klein 4B (bf16 folder + Q8_0 GGUF with ComfyUI-prefixed keys). A few MB in all;
the pictures are noise, the point is that every loading path runs without the real weights.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# (model id, variants) in the order they are recorded; the folder variant first, so that a tier
# asking for a GGUF variant that is not installed falls back to it.
INSTALLS = (
    ("z-image-turbo", ("bf16", "q8_0")),
    ("z-image-turbo-controlnet", ("bf16",)),
    ("flux2-klein-4b", ("bf16", "q8_0")),
)


def write_tiny_models(root: Path, *, catalog=None) -> dict:
    """Build the tiny models under `root` in the download layout and register them. Returns the InstalledModels."""
    from diffusers.utils import logging as dlog

    import app.inference.loading  # noqa: F401  (quiets the libraries' progress bars)
    from app.inference import gguf_io, packs
    from app.models import download as dl
    from app.models.catalog import load_catalog
    from app.models.store import ModelStore

    catalog = catalog or load_catalog()
    store = ModelStore(catalog, root)
    models = catalog.models

    def repo_folder(model_id: str) -> Path:
        return dl.repo_dir(store.root, models[model_id].repo)

    def variant_file(model_id: str, variant: str) -> Path:
        var = models[model_id].variants[variant]
        return dl.local_path(store.root, dl.RemoteFile(var.repo, var.file, None, None))

    level = dlog.get_verbosity()
    dlog.set_verbosity_error()
    try:
        z = packs.build_z_image(repo_folder("z-image-turbo"))
        packs.write_gguf_transformer(z, variant_file("z-image-turbo", "q8_0"))
        cn = packs.build_z_image_controlnet(repo_folder("z-image-turbo-controlnet"))
        want = variant_file("z-image-turbo-controlnet", "bf16")
        if cn != want:
            cn.replace(want)
        k = packs.build_flux2_klein(repo_folder("flux2-klein-4b"))
        out = variant_file("flux2-klein-4b", "q8_0")
        packs.write_gguf_transformer(k, out, family="flux2", prefix=gguf_io.COMFY_PREFIX)
    finally:
        dlog.set_verbosity(level)
    return {(mid, v): store.adopt(mid, v) for mid, variants in INSTALLS for v in variants}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path, help="the models folder to fill (MAPBRUSH_MODELS_DIR)")
    args = parser.parse_args(argv)
    installed = write_tiny_models(args.outdir)
    for (mid, variant), model in installed.items():
        state = "ready" if model.ready else "missing " + ", ".join(model.missing)
        print(f"{mid:<26} {variant:<6} {model.format:<12} {state}  {model.weights}")
    print(f"\nMAPBRUSH_MODELS_DIR={args.outdir.resolve()}")
    return 0 if all(m.ready for m in installed.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
