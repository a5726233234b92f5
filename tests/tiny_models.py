"""Tiny random-weight models installed in a models folder exactly as downloads are.

    python -m tests.tiny_models OUTDIR
    MAPBRUSH_MODELS_DIR=OUTDIR python -m app models list
    MAPBRUSH_MODELS_DIR=OUTDIR python -m app render --example --engine preview --size 128x96 -o x.png

Each repo of the catalog gets its folder under `OUTDIR/hub/<owner>--<name>/` with the files the
catalog names (a diffusers folder, or one GGUF / safetensors file), and `ModelStore.adopt` writes
the registry the way a download does. Installed: every variant of every catalog model; the GGUF
files are written as city96's ComfyUI-GGUF tools write them (architecture `lumina2`/`flux`, the
file's K-quant mix, BF16 pad tokens, F32 small tensors), alternately with and without the
`model.diffusion_model.` prefix. The pictures are noise, the point is that every loading path runs
without the real weights.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# The folder variant first, so that a tier asking for a GGUF variant that is not installed falls back to it.
# Every variant of every model of the catalog is installed.


def _installs(catalog) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for mid, model in catalog.models.items():
        variants = sorted(model.variants, key=lambda v: model.variants[v].format == "gguf")
        out.append((mid, tuple(variants)))
    return tuple(out)


_FAMILY = {"z-image": "z_image", "flux2-klein": "flux2", "flux2": "flux2"}


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

    from app.inference.packs_flux2_dev import build_flux2_dev

    builders = {"z-image": packs.build_z_image, "flux2-klein": packs.build_flux2_klein, "flux2": build_flux2_dev}
    installs = _installs(catalog)
    level = dlog.get_verbosity()
    dlog.set_verbosity_error()
    try:
        for mid, variants in installs:
            model = models[mid]
            if model.role == "controlnet":
                cn = packs.build_z_image_controlnet(repo_folder(mid))
                for v in variants:  # every file the repo offers (2602-8steps, 2601-8steps, 2.1), same tiny weights
                    want = variant_file(mid, v)
                    if want != cn:
                        want.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(cn, want)
                if cn not in {variant_file(mid, v) for v in variants}:
                    cn.unlink()
                continue
            folder = builders[model.family](repo_folder(mid))
            for i, v in enumerate(variants):  # like the community files: with and without the ComfyUI prefix
                if model.variants[v].format == "gguf":
                    prefix = gguf_io.COMFY_PREFIX if i % 2 == 0 else ""
                    packs.write_gguf_transformer(
                        folder,
                        variant_file(mid, v),
                        quant=model.variants[v].quant,
                        family=_FAMILY[model.family],
                        prefix=prefix,
                    )
    finally:
        dlog.set_verbosity(level)
    return {(mid, v): store.adopt(mid, v) for mid, variants in installs for v in variants}


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
