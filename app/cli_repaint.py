"""`render --repaint-from PICTURE.png --repaint-mask MASK.png`: repaint part of a picture MapBrush made (issue 16).

The picture's `mapbrush` metadata gives its settings (map files, style, framing, layers, title, seed, prompt); the
map files are the ones on the command line, else found beside the picture (or here) by name and content. Only the
white part of the mask is painted again, by the picture's AI stage (or `--engine preview|final`), blended in at a
feathered edge; the labels, title, scale bar and north arrow are drawn again on top. `--seed`, `--prompt-extra`,
`--creativity`, `--steps` and `--lora` apply to the repaint; the rest of the picture stays exactly as it was.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.errors import InputError


def add_repaint_options(parser) -> None:
    g = parser.add_argument_group("repaint a region of a picture MapBrush made (AI engines)")
    g.add_argument("--repaint-from", type=Path, metavar="PICTURE",
                   help="a MapBrush PNG to repaint part of (its own settings are used)")  # fmt: skip
    g.add_argument("--repaint-mask", type=Path, metavar="MASK",
                   help="an image, white where to repaint (any size: scaled to the picture)")  # fmt: skip
    g.add_argument("--repaint-feather", type=int, metavar="PX",
                   help="the blended edge around the mask, in pixels (default: 1%% of the short side)")  # fmt: skip


def wants_repaint(args) -> bool:
    return bool(getattr(args, "repaint_from", None) or getattr(args, "repaint_mask", None))


def cmd_repaint(args) -> int:
    from app.cli import PROG, _ai_options, _TerminalProgress, check_map_file, example_inputs
    from app.cli_workflow import find_inputs
    from app.export.formats import VECTOR, check_output, format_of, write_image
    from app.export.png import read_metadata, read_rgb
    from app.jobs import repaint as rp
    from app.jobs.progress import Progress

    if getattr(args, "backend", None) == "comfyui":
        raise InputError("repainting a region runs on this computer only (leave out --backend comfyui)")
    from app.jobs.render import repaint
    from app.mapdata.io import sha256_of

    if not args.repaint_from:
        raise InputError("--repaint-mask goes with --repaint-from PICTURE (the MapBrush PNG to repaint)")
    if not args.repaint_mask:
        raise InputError("--repaint-from goes with --repaint-mask MASK (white where to repaint)")
    if args.repaint_feather is not None and not 0 <= args.repaint_feather <= 256:
        raise InputError(f"--repaint-feather {args.repaint_feather} is out of range (0 to 256 pixels)")
    if args.reference:
        raise InputError("--reference is for a final render; --repaint-from names the picture to repaint")
    png = Path(args.repaint_from)
    picture = read_rgb(png)  # one line for a missing or unreadable file
    try:
        meta = read_metadata(png)
    except (OSError, InputError):
        meta = None
    if not isinstance(meta, dict) or meta.get("app") != "mapbrush":
        raise InputError("has no MapBrush settings in it: --repaint-from takes a PNG that MapBrush wrote", path=png)
    mask = rp.load_mask(args.repaint_mask)

    inputs = list(args.inputs) + (example_inputs() if args.example else [])
    if not inputs:
        inputs = find_inputs(png, meta)
        if inputs is None:
            names = ", ".join(str(i.get("name")) for i in meta.get("inputs") or [] if isinstance(i, dict))
            raise InputError(f"the map files it was made from ({names or 'none named'}) are not beside it or here: "
                             "give them on the command line", path=png)  # fmt: skip
    for path in inputs:
        check_map_file(path)
    out = args.output or png.with_name(f"{png.stem}-repainted.png")
    check_output(out, [*inputs, png])
    if format_of(out) in VECTOR:
        raise InputError("a repainted picture is written as a PNG, JPEG or WebP", path=out)

    stage = args.engine if args.engine in ("preview", "final") else meta.get("engine")
    stage = stage if stage in ("preview", "final") else "preview"
    h, w = picture.shape[:2]
    req = rp.request_from_metadata(meta, inputs, (w, h), user_styles_dir=args.styles_dir)
    if args.seed is not None:
        req.seed = args.seed
    ai = _ai_options(args)
    if isinstance(meta.get("prompt"), str) and meta["prompt"].strip():
        ai.prompt = meta["prompt"]  # the picture's own prompt; --prompt-extra adds to it
    req.ai = ai
    job = rp.Repaint(picture, mask, stage=stage, metadata=meta, feather=args.repaint_feather,
                     source={"name": png.name, "sha256": sha256_of(png)})  # fmt: skip

    from app.jobs.ai import Engines

    engines = Engines(args.models_dir, args.tier)
    bar = _TerminalProgress()
    t0 = time.perf_counter()
    try:
        result = repaint(req, job, engines=engines, progress=Progress(bar))
        write_image(Path(out), result.image, result.metadata, dpi=req.dpi)
    finally:
        bar.done()
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    record = result.metadata["repaints"][-1]
    print(f"wrote {out} ({w}x{h}, repainted {record['share']:.1%} of it with the {stage} engine, seed "
          f"{record['seed']}) in {time.perf_counter() - t0:.1f}s")  # fmt: skip
    return 0
