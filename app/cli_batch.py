"""`mapbrush batch`: many maps in one go (app/jobs/batch.py), a summary table, Ctrl-C after the current map."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from app.errors import InputError
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress

PROG = "mapbrush"


def cmd_batch(args) -> int:
    from app.cli import _TerminalProgress, render_request
    from app.jobs.batch import find_files, plan, run_batch

    if args.reference:
        raise InputError("--reference names one picture to re-render; a batch renders each map from its data")
    if args.place or args.bbox:  # one area for every map would make the same map N times
        raise InputError(
            "--place/--bbox name one area; a batch maps each file's own area "
            "(add --context for the landscape around each file, or use `mapbrush render --place`)"
        )
    if args.radius and not args.context:
        raise InputError("--radius in a batch is the margin of --context around each file: add --context")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out must be a folder, not a file", path=out_dir)
    files = find_files(args.inputs, skip=out_dir if out_dir.exists() else None)
    if not files:
        raise InputError("no map files found in " + ", ".join(str(p) for p in args.inputs))
    items = plan(files, args.group_by)
    req = render_request(args, [])
    engines = None
    if args.engine != "procedural":
        from app.jobs.ai import Engines
        from app.jobs.render import make_engines

        # one for every map: the models stay loaded (or one ComfyUI server with --backend comfyui)
        engines = Engines(args.models_dir, args.tier) if req.backend == "local" else make_engines(req)
        if args.engine in ("preview", "final"):  # a missing model fails every map: say so before any work
            engines.installed_for(args.engine, req.ai.final_model if args.engine == "final" else None)

    stop, cancel = CancelToken(), CancelToken()

    def on_interrupt(signum, frame):
        if stop.cancelled:  # the second Ctrl-C stops the current map too
            cancel.cancel()
            return
        stop.cancel()
        print(f"\n{PROG}: stopping after the current map (Ctrl-C again to stop now)", file=sys.stderr)

    bar = _TerminalProgress()

    count = iter(range(1, len(items) + 1))

    def show(outcome) -> None:
        bar.done()
        why = f": {outcome.message}" if outcome.message and not outcome.ok else ""
        print(f"[{next(count)}/{len(items)}] {outcome.result} {outcome.item.label} ({outcome.seconds:.1f}s){why}",
              file=sys.stderr)  # fmt: skip

    old = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = run_batch(items, out_dir, req, engines=engines, progress=Progress(bar), cancel=cancel, stop=stop,
                           on_outcome=show)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, old)
        bar.done()
    print_summary(result)
    return result.exit_code


def print_summary(result) -> None:
    """The table: file (or folder or day), result, seconds, and why a map failed; then the counts."""
    width = max([len("file")] + [len(o.item.label) for o in result.outcomes])
    print(f"{'file':<{width}}  {'result':<7}  {'seconds':>7}")
    for o in result.outcomes:
        why = f"  {o.message}" if o.message and not o.ok else ""
        print(f"{o.item.label:<{width}}  {o.result:<7}  {o.seconds:7.1f}{why}")
    made = sum(o.ok for o in result.outcomes)
    bad = sum(o.result in ("bad", "failed", "error") for o in result.outcomes)
    tail = f"; contact sheet {result.sheet}" if result.sheet else ""
    stopped = "; stopped before the end" if result.stopped else ""
    print(f"{made} of {len(result.outcomes)} maps made, {bad} failed{stopped}{tail}")
