"""RAM benchmark (issue 13): full-size random-weight models of the cuda-12gb tier, loaded through the manager.

    python tests/bench/ram_bench.py write DIR      # ~31 GB on disk, streamed tensor by tensor (little RAM)
    python tests/bench/ram_bench.py measure DIR [--ram-gb 16 --vram-gb 12] [--stage preview|final|both]

`write` lays out two download-like folders under DIR: Z-Image-Turbo (diffusers folder without transformer
weights + the tier's Q8_0 GGUF transformer) and FLUX.2-klein-4B (same, Q8_0 GGUF). Shapes are the published
architectures in tier_fit.py (Z_IMAGE_TURBO, FLUX2_KLEIN_4B, QWEN3_4B: the hub configs of
Tongyi-MAI/Z-Image-Turbo, black-forest-labs/FLUX.2-klein-4B and Qwen/Qwen3-4B), built on the meta device,
so no model is ever in RAM while writing. Weights are random but finite and small (bf16 with a fixed small
exponent; Q8_0 blocks with a small f16 scale). The text encoders are written in <=5 GB shards with an index,
as the hub has them.

`measure` runs the app's own path (api family build + manager.pipeline/place/embeddings) in a child
process with the budget cache_budget_bytes gives a 16 GB RAM / 12 GB VRAM machine (the tier's offload is
"model", so weights live in RAM), and prints peak RSS (ru_maxrss, VmHWM) and current RSS after each phase.
Not a pytest test (no test_ prefix).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

SHARD = 5 * 10**9
_rng = None


def rng():
    global _rng
    if _rng is None:
        import numpy as np

        _rng = np.random.default_rng(0)
    return _rng


def _random_bf16(numel: int):
    """Random bf16 bits with magnitudes in [2^-8, 2^-7): finite, small, random sign and mantissa."""
    import numpy as np

    bits = rng().integers(0, 1 << 16, size=numel, dtype=np.uint16)
    return (bits & np.uint16(0x807F)) | np.uint16(0x77 << 7)


def write_safetensors(folder: Path, stem: str, shapes: dict[str, tuple[int, ...]], *, index_name: str | None) -> int:
    """bf16 safetensors, one tensor at a time; sharded at SHARD bytes with an index file when index_name."""
    import struct

    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    shards, cur, size = [], {}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape)) * 2
        if index_name and cur and size + n > SHARD:
            shards.append(cur)
            cur, size = {}, 0
        cur[name] = shape
        size += n
    shards.append(cur)
    total, weight_map = 0, {}
    for i, shard in enumerate(shards):
        fname = f"{stem}-{i + 1:05d}-of-{len(shards):05d}.safetensors" if index_name else f"{stem}.safetensors"
        header, off = {}, 0
        for name, shape in shard.items():
            n = int(np.prod(shape)) * 2
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
            off += n
            weight_map[name] = fname
        header["__metadata__"] = {"format": "pt"}
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        total += off
        if (folder / fname).is_file() and (folder / fname).stat().st_size == 8 + len(raw) + off:
            continue  # written by an earlier run
        with (folder / fname).open("wb") as f:
            f.write(struct.pack("<Q", len(raw)) + raw)
            for shape in shard.values():
                numel = int(np.prod(shape))
                for start in range(0, numel, 1 << 27):  # 256 MB chunks
                    f.write(_random_bf16(min(1 << 27, numel - start)).tobytes())
    if index_name:
        (folder / index_name).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return total


def write_gguf_q8(path: Path, shapes: dict[str, tuple[int, ...]], *, family: str) -> int:
    """A city96-style Q8_0 GGUF (tensor types from gguf_io.tensor_type), streamed tensor by tensor."""
    import gguf
    import numpy as np

    from app.inference import gguf_io

    T = gguf.GGMLQuantizationType
    writer = gguf.GGUFWriter(str(path), arch=gguf_io.ARCHITECTURES[family])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    plan = []
    for name, shape in shapes.items():
        qtype = gguf_io.tensor_type(name, shape, "Q8_0")
        numel = int(np.prod(shape))
        if qtype == T.Q8_0:
            byte_shape = (*shape[:-1], shape[-1] // 32 * 34)
            writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), numel // 32 * 34, raw_dtype=T.Q8_0)
        elif qtype == T.BF16:
            writer.add_tensor_info(name, (*shape[:-1], shape[-1] * 2), np.dtype(np.uint8), numel * 2, raw_dtype=T.BF16)
        else:
            dt = np.float32 if qtype == T.F32 else np.float16
            writer.add_tensor_info(name, shape, np.dtype(dt), numel * np.dtype(dt).itemsize)
        plan.append((name, shape, qtype))
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    scale = np.array([0.0005], np.float16).view(np.uint8)  # |w| <= 0.064
    for _name, shape, qtype in plan:
        numel = int(np.prod(shape))
        if qtype == T.Q8_0:
            blocks = rng().integers(0, 256, size=(numel // 32, 34), dtype=np.uint8)
            blocks[:, 0:2] = scale
            writer.write_tensor_data(blocks.reshape(*shape[:-1], shape[-1] // 32 * 34))
        elif qtype == T.BF16:
            writer.write_tensor_data(_random_bf16(numel).view(np.uint8).reshape(*shape[:-1], shape[-1] * 2))
        else:
            dt = np.float32 if qtype == T.F32 else np.float16
            writer.write_tensor_data((rng().standard_normal(numel, dtype=np.float32) * 0.02).astype(dt).reshape(shape))
    writer.close()
    return path.stat().st_size


def _meta_pipeline(family: str, tokdir: Path):
    """The full-size pipeline on the meta device (packs' builders with tier_fit's published architectures)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler
    from tier_fit import FLUX2_KLEIN_4B, Z_IMAGE_TURBO

    from app.inference import packs

    vocab = packs.write_tokenizer(tokdir)
    arch = Z_IMAGE_TURBO if family == "z_image" else FLUX2_KLEIN_4B
    te_arch = {**arch["text_encoder"], "vocab_size": 151936}  # the real vocab, not the tiny tokenizer's
    with torch.device("meta"):
        if family == "z_image":
            from diffusers import ZImagePipeline, ZImageTransformer2DModel

            pipe = ZImagePipeline(
                scheduler=FlowMatchEulerDiscreteScheduler(**packs.Z_IMAGE_SCHEDULER),
                vae=packs._vae_kl(arch["vae"]),
                text_encoder=packs._qwen3("Qwen3Model", vocab, te_arch),
                tokenizer=packs._load_tokenizer(tokdir),
                transformer=ZImageTransformer2DModel(**arch["transformer"]),
            )
        else:
            from diffusers import Flux2KleinPipeline, Flux2Transformer2DModel

            pipe = Flux2KleinPipeline(
                scheduler=FlowMatchEulerDiscreteScheduler(**packs.FLUX2_SCHEDULER),
                vae=packs._vae_flux2(arch["vae"]),
                text_encoder=packs._qwen3("Qwen3ForCausalLM", vocab, te_arch),
                tokenizer=packs._load_tokenizer(tokdir),
                transformer=Flux2Transformer2DModel(**arch["transformer"]),
                is_distilled=True,
            )
    return pipe


def _shapes(module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def write(root: Path) -> None:
    from app.inference import gguf_io

    for family, folder, gguf_name in (
        ("z_image", "Z-Image-Turbo", "z_image_turbo-Q8_0.gguf"),
        ("flux2", "FLUX.2-klein-4B", "flux-2-klein-4b-Q8_0.gguf"),
    ):
        t = time.perf_counter()
        d = root / folder
        pipe = _meta_pipeline("z_image" if family == "z_image" else "flux2_klein", d / "tokenizer")
        pipe.save_config(str(d))
        pipe.scheduler.save_pretrained(str(d / "scheduler"))
        pipe.transformer.save_config(str(d / "transformer"))
        pipe.vae.save_config(str(d / "vae"))
        vae = write_safetensors(d / "vae", "diffusion_pytorch_model", _shapes(pipe.vae), index_name=None)
        pipe.text_encoder.config.save_pretrained(str(d / "text_encoder"))
        te_shapes = _shapes(pipe.text_encoder)
        te_shapes.pop("lm_head.weight", None)  # tied to the embeddings, not stored (tie_word_embeddings)
        te = write_safetensors(d / "text_encoder", "model", te_shapes, index_name="model.safetensors.index.json")
        meta = {k: v for k, v in pipe.transformer.state_dict().items()}
        original = gguf_io.z_image_to_original(meta) if family == "z_image" else gguf_io.flux2_to_original(meta)
        tr = write_gguf_q8(root / gguf_name, {k: tuple(v.shape) for k, v in original.items()}, family=family)
        print(
            f"{folder}: text encoder {te / 1e9:.2f} GB, VAE {vae / 1e9:.3f} GB, {gguf_name} {tr / 1e9:.2f} GB "
            f"({time.perf_counter() - t:.0f} s)",
            flush=True,
        )


CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
root, budget, stages = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
from app.inference import api
from app.inference.manager import ModelManager
def rss():
    s = {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
         if l.startswith(("VmHWM", "VmRSS"))}
    return {"maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
            "hwm_gb": s["VmHWM"] * 1024 / 1e9, "rss_gb": s["VmRSS"] * 1024 / 1e9}
m = ModelManager(budget)
plans = {
    "preview": api.StagePlan("preview", "z_image", root / "Z-Image-Turbo",
        transformer_file=root / "z_image_turbo-Q8_0.gguf", offload="model", device="cpu", width=64, height=64),
    "final": api.StagePlan("final", "flux2_klein", root / "FLUX.2-klein-4B",
        transformer_file=root / "flux-2-klein-4b-Q8_0.gguf", offload="model", device="cpu", width=64, height=64),
}
def row(phase, t):
    r = {"phase": phase, "s": round(time.perf_counter() - t, 1), **rss(),
         "resident_gb": m.loaded_bytes / 1e9, "residency": m.residency.line()}
    print("ROW " + json.dumps(r), flush=True)
for name in stages:
    plan = plans[name]
    fam = api.family_module(plan.family)
    key = fam.pipeline_key(plan)
    t = time.perf_counter()
    pipe = m.pipeline(key, lambda mm: fam.build(mm, plan))
    m.place(key, plan.device, plan.offload)
    row(f"{name} load", t)
    t = time.perf_counter()
    if plan.family == "z_image":
        m.embeddings((key, "a map", ""), lambda: fam.encode(pipe, "a map"))
    else:
        from app.inference.pipelines import common
        m.embeddings((key, "a map", ""), lambda: common.encode_prompt(pipe, "a map"))
    row(f"{name} encode", t)
"""


def measure(root: Path, budget: int, stages: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(budget), stages],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    rows = [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("ROW ")]
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("write", "measure"))
    ap.add_argument("root", type=Path)
    ap.add_argument("--ram-gb", type=float, default=16)
    ap.add_argument("--vram-gb", type=float, default=12)
    ap.add_argument("--stages", default="preview,final,preview")
    args = ap.parse_args()
    if args.what == "write":
        write(args.root)
        return 0
    from app.models.hardware import cache_budget_bytes

    # the tier's offload is "model": weights live in RAM, so the RAM decides (weights_on_gpu=False)
    budget = cache_budget_bytes(int(args.ram_gb * 1e9), int(args.vram_gb * 1e9), weights_on_gpu=False)
    print(f"budget {budget / 1e9:.1f} GB ({args.ram_gb:g} GB RAM, {args.vram_gb:g} GB VRAM, offload model)")
    print(f"{'phase':<18}{'s':>7}{'ru_maxrss GB':>14}{'VmHWM GB':>10}{'RSS GB':>8}{'resident GB':>13}  residency")
    for r in measure(args.root, budget, args.stages):
        print(
            f"{r['phase']:<18}{r['s']:>7}{r['maxrss_gb']:>14.2f}{r['hwm_gb']:>10.2f}{r['rss_gb']:>8.2f}"
            f"{r['resident_gb']:>13.2f}  {r['residency']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
