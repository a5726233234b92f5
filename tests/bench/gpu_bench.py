"""Seconds per image, peak VRAM and peak RAM of the AI engines, per GPU tier.

Builds FULL-SIZE Z-Image-Turbo and FLUX.2 Klein 4B pipelines with random weights from their
published architecture configs (nothing is downloaded), saves them as diffusers folders and
runs `app.inference.api.generate` for each tier preset of models.toml (model, GGUF or folder
variant, dtype, offload, resolution, steps), emulating the tier's VRAM (`min_vram_gb`) with
`torch.cuda.set_per_process_memory_fraction`. GGUF variants run a Q8_0 file written from the
random folder (the bench cannot write K-quants; the label says so when the preset asks for one).

    python tests/bench/gpu_bench.py            # full size on CUDA; --tiny without CUDA
    python tests/bench/gpu_bench.py --tiny     # the cpu tier on tiny packs, < 1 min (keeps this script alive)
    python tests/bench/gpu_bench.py --tiers cuda-8gb,cuda-24gb
    python tests/bench/gpu_bench.py --fit      # no GPU, seconds: do each tier's weights fit its VRAM?

`--fit` runs tier_fit.py (also runnable on its own): a static, weights-only estimate on the meta device of
each tier stage's and optional model's GPU-resident weights against the tier's `min_vram_gb`. The published
architectures the bench builds live there too.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tier_fit, when loaded by path rather than run

import numpy as np
import torch
from tier_fit import FLUX2_KLEIN_4B, Z_IMAGE_TURBO, print_fit

from app.inference import packs
from app.inference.api import StagePlan, generate
from app.inference.manager import ModelManager
from app.models.catalog import load_catalog

PACKS = {"z-image-turbo": "z_image", "flux2-klein-4b": "klein"}  # catalog model id -> pack the bench builds
_DTYPES = {"bf16": "bfloat16", "fp32": "float32"}
TINY_SIDE = 64


def build_full(workdir: Path, dtype: torch.dtype) -> dict[str, Path]:
    out = {}
    for name, make, arch in (
        ("z_image", packs.make_z_image, Z_IMAGE_TURBO),
        ("klein", packs.make_flux2_klein, FLUX2_KLEIN_4B),
    ):
        folder = workdir / name
        if not (folder / "model_index.json").is_file():
            t0 = time.monotonic()
            previous = torch.get_default_dtype()
            torch.set_default_dtype(dtype)  # initialise in the target dtype: half the RAM
            try:
                pipe = make(folder / "tokenizer", arch=arch)
            finally:
                torch.set_default_dtype(previous)
            pipe.to(dtype).save_pretrained(str(folder), safe_serialization=True)
            del pipe
            print(f"built {name} in {time.monotonic() - t0:.0f} s", flush=True)
        out[name] = folder
        out[name + "_gguf"] = workdir / f"{name}-Q8_0.gguf"  # written on first use by a GGUF tier
    return out


def peak_ram_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def run_case(manager, plan, image, label: str) -> None:
    if plan.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, notes = [], []
    for _ in range(2):  # cold (loads weights), warm (resident)
        t0 = time.monotonic()
        generate(
            manager,
            plan,
            prompt="an antique map of a coastal town",
            image=image,
            references=[image],
            strength=0.7,
            seed=1,
            notes=notes,
        )
        times.append(time.monotonic() - t0)
    vram = torch.cuda.max_memory_allocated() / 2**30 if plan.device == "cuda" else 0.0
    extra = f"  [{'; '.join(notes)}]" if notes else ""
    print(
        f"{label:<28} cold {times[0]:7.2f} s  warm {times[1]:7.2f} s  peak VRAM {vram:6.2f} GiB  "
        f"peak RAM {peak_ram_gib():6.2f} GiB{extra}",
        flush=True,
    )


def tier_names(catalog, device: str) -> list[str]:
    return [name for name, tier in catalog.tiers.items() if tier.device == device]


def stage_plan(catalog, preset, paths: dict[str, Path], device: str, side: int | None = None):
    """(StagePlan, label) for one stage preset of a tier, or (None, why) when the bench cannot build its model."""
    if not preset.enabled or not preset.model:
        return None, f"off: {preset.reason}"
    pack = PACKS.get(preset.model)
    if pack is None:
        return None, f"{preset.model} is not built by the bench"
    variant = catalog.models[preset.model].variants[preset.variant]
    gguf = variant.format == "gguf"
    side = side or preset.resolution
    plan = StagePlan(
        preset.stage,
        catalog.models[preset.model].family.replace("-", "_"),
        paths[pack],
        transformer_file=paths[pack + "_gguf"] if gguf else None,
        dtype=_DTYPES.get(preset.dtype, preset.dtype),
        offload=preset.offload,
        device=device,
        width=side,
        height=side,
        steps=preset.steps,
    )
    quant = variant.quant + (" (run as Q8_0)" if gguf and variant.quant.upper() != "Q8_0" else "")
    return plan, f"{preset.stage} {preset.model}:{quant} {preset.dtype} {preset.offload} {side}² {preset.steps} steps"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random packs, cpu tier (default without CUDA)")
    parser.add_argument("--fit", action="store_true", help="static weights-only VRAM check per tier (CPU, seconds)")
    parser.add_argument("--workdir", type=Path, help="where to keep the built packs (default: a temp dir)")
    parser.add_argument(
        "--tiers", default="", help="comma-separated tier names of models.toml (default: all CUDA tiers)"
    )
    args = parser.parse_args(argv)
    if args.fit:
        print_fit(load_catalog())
        return 0
    cuda = torch.cuda.is_available()
    tiny = args.tiny or not cuda
    device = "cuda" if cuda and not tiny else "cpu"
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="mapbrush-bench-") as tmp:
            return bench(Path(tmp), tiny, device, args.tiers)
    return bench(args.workdir, tiny, device, args.tiers)


def bench(workdir: Path, tiny: bool, device: str, tiers_arg: str) -> int:
    catalog = load_catalog()
    known = tier_names(catalog, "cpu" if tiny else "cuda")
    wanted = [t if t in catalog.tiers else f"cuda-{t}" for t in tiers_arg.split(",") if t] or known
    unknown = [t for t in wanted if t not in known]
    if unknown:
        print(f"unknown tier(s) {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    if tiny:
        built = packs.build_all(workdir)
        paths = {k: built[k] for k in ("z_image", "z_image_gguf", "klein", "klein_gguf")}
    else:
        paths = build_full(workdir, torch.bfloat16)
    print(f"device={device} torch={torch.__version__} packs={workdir}", flush=True)
    total = torch.cuda.get_device_properties(0).total_memory / 2**30 if device == "cuda" else 0
    rng = np.random.default_rng(0)
    for name in wanted:
        tier = catalog.tiers[name]
        if device == "cuda":
            vram = tier.min_vram_gb or total
            torch.cuda.set_per_process_memory_fraction(min(1.0, vram / total))
        manager = ModelManager()
        for preset in (tier.preview, tier.final):
            plan, label = stage_plan(catalog, preset, paths, device, TINY_SIDE if tiny else None)
            if plan is None:
                print(f"{name} {preset.stage}: {label}", flush=True)
                continue
            if plan.transformer_file is not None and not plan.transformer_file.is_file():
                write_gguf(plan)
            image = (rng.random((plan.height, plan.width, 3)) * 255).astype(np.uint8)
            run_case(manager, plan, image, f"{name} {label}")
            manager.unload()  # one model at a time, as on a small GPU
    return 0


def write_gguf(plan: StagePlan) -> None:
    t0 = time.monotonic()
    family = "z_image" if plan.family == "z_image" else "flux2"
    packs.write_gguf_transformer(plan.model_dir, plan.transformer_file, family=family)
    print(f"wrote {plan.transformer_file.name} in {time.monotonic() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
