"""Whole-process peak memory of a print-size `mapbrush render`, per style and per stage (issue 14 §4: A1 at 300 dpi
within 3 GB on the procedural engine, everything counted: read, compose, rasterize, paint, finish, export).

    python tests/bench/print_memory_bench.py [--paper A1] [--dpi 300] [--size WxH] [--styles ink,poster] [--repeat 1]

Each style renders the bundled example in a fresh process that runs the CLI's own `render` command (app.cli.main),
exactly as `mapbrush render --example --style S --paper A1 -o out.png` does. A thread in that process watches which
stage the main thread is in (by the functions on its stack) and reads the kernel's high-water mark of resident memory
(VmHWM) at every change of stage, then resets it (/proc/self/clear_refs, Linux), so each stage's column is the true
peak while it ran; "peak" is the largest of them; "labels" is the layout of the labels and furniture, after the
painting. Not a test: it prints figures. Linux only. Check `free -g` first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STYLES = "blueprint,fantasy,ink,noir,parchment,poster,watercolor"
# (file ending, function) on the main thread's stack → stage; the innermost match wins
STAGE_OF = {
    ("app/jobs/surroundings.py", "load_request"): "read",
    ("app/carto/compose.py", "compose"): "compose",
    ("app/render/raster.py", "rasterize"): "rasterize",
    ("app/styles/painter.py", "paint"): "paint",
    ("app/render/overlay.py", "layout_overlay"): "labels",
    ("app/render/overlay.py", "finish"): "finish",
    ("app/jobs/render.py", "_metadata"): "metadata",
    ("app/export/formats.py", "write_image"): "export",
    ("app/export/vector.py", "write_vector"): "export",
}
STAGES = ("start", "read", "compose", "rasterize", "paint", "labels", "finish", "metadata", "export")
POLL_S = 0.002


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _stage(frame) -> str | None:
    while frame is not None:
        code = frame.f_code
        for (tail, name), stage in STAGE_OF.items():
            if code.co_name == name and code.co_filename.replace("\\", "/").endswith(tail):
                return stage
        frame = frame.f_back
    return None


def child(argv: list[str], report: Path) -> int:
    """Run the CLI in this process with the stage watcher; write {stage: peak MB} and seconds to `report`."""
    from app.cli import main as cli_main

    main_id = threading.get_ident()
    peaks: dict[str, int] = {}
    seconds: dict[str, float] = {}
    stop = threading.Event()
    state = {"stage": "start", "since": time.perf_counter()}

    def close(stage: str) -> None:
        peaks[stage] = max(peaks.get(stage, 0), _status_kb("VmHWM"))
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - state["since"]

    def watch() -> None:
        while not stop.wait(POLL_S):
            frame = sys._current_frames().get(main_id)
            now = _stage(frame) or state["stage"]  # between stages: counted with the one before
            if now != state["stage"]:
                close(state["stage"])
                _reset_hwm()
                state.update(stage=now, since=time.perf_counter())

    _reset_hwm()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        rc = cli_main(argv)
    finally:
        stop.set()
        watcher.join()
        close(state["stage"])
        report.write_text(json.dumps({"peaks_mb": {k: v / 1024 for k, v in peaks.items()}, "seconds": seconds}))
    return rc


def run_style(style: str, args, tmp: Path) -> dict | str:
    out = tmp / f"{style}.png"
    report = tmp / f"{style}.json"
    where = ["--size", args.size] if args.size else ["--paper", args.paper, "--dpi", args.dpi]
    cli = ["render", "--example", "--style", style, *where, "-o", str(out)]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(report), "--", *cli]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0 or not report.exists():
        return ((proc.stderr or proc.stdout).strip().splitlines() or ["no output"])[-1]
    got = json.loads(report.read_text())
    got["wall"] = wall
    got["peak"] = max(got["peaks_mb"].values())
    if args.keep:
        os.replace(out, Path(args.keep) / out.name)
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper", default="A1")
    ap.add_argument("--dpi", default="300")
    ap.add_argument("--size", help="WxH instead of a paper")
    ap.add_argument("--styles", default=STYLES)
    ap.add_argument("--repeat", type=int, default=1, help="runs per style; medians are shown")
    ap.add_argument("--keep", help="a folder to keep the rendered PNGs in")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        sys.exit(child([a for a in rest if a != "--"], Path(args.child)))
    cols = STAGES[1:]
    print(f"{'style':<11}{'wall s':>8}{'peak MB':>9}" + "".join(f"{c[:9]:>10}" for c in cols), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles.split(","):
            runs = [run_style(style, args, Path(tmp)) for _ in range(args.repeat)]
            ok = [r for r in runs if isinstance(r, dict)]
            if not ok:
                print(f"{style:<11} failed: {runs[-1]}", flush=True)
                continue

            stage = "".join(f"{_median(ok, lambda r, c=c: r['peaks_mb'].get(c, 0.0)):>10.0f}" for c in cols)
            wall, peak = _median(ok, lambda r: r["wall"]), _median(ok, lambda r: r["peak"])
            print(f"{style:<11}{wall:>8.1f}{peak:>9.0f}{stage}", flush=True)


def _median(runs: list[dict], get) -> float:
    return statistics.median(get(r) for r in runs)


if __name__ == "__main__":
    main()
