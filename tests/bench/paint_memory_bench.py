"""Peak memory of a print-size render per style (issue 14 §4: A1 at 300 dpi within 3 GB on the procedural engine).

    python tests/bench/paint_memory_bench.py [--paper A1] [--dpi 300] [--styles watercolor,poster] [--stage paint]

Each style renders the bundled example in a fresh `mapbrush render` process; the table shows that process's peak
resident memory (ru_maxrss of the child) and wall time. Not a test: it prints figures. Check `free -g` first, a
render at A1 takes several GB today.

`--stage paint` measures the paint stage alone (app/styles/painter.py), at the paper's full size (not capped at the
render's MAX_SIDE, up to 16384 px a side): a fresh process composes and rasterizes the example, then resets its peak
RSS (Linux: /proc/self/clear_refs) and paints. It shows the resident memory before painting (the layers and the
rest of the process), the peak while painting, and the difference, which is what the painter itself adds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STYLES = "blueprint,fantasy,ink,noir,parchment,poster,watercolor"

PAINT = r"""
import json, sys, time
from pathlib import Path
from app.export.paper import paper_name, paper_size
from app.jobs.render import RenderRequest, _scene_and_layers, load, request_style
from app.startup import tune_memory
from app.styles.painter import paint

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

tune_memory()
examples = Path("resources/examples")
inputs = [examples / "harbour_town.geojson", examples / "harbour_hike.gpx"]
paper = paper_size(paper_name(sys.argv[1]), float(sys.argv[2]), max_side=16384)
req = RenderRequest(inputs=inputs, style=sys.argv[3], size=paper.size, margin=paper.margin(0.06), seed=1)
data = load(inputs)
_, layers, _, _ = _scene_and_layers(req, data, request_style(req), {})
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM to the current RSS
before = status("VmRSS")
t = time.perf_counter()
image = paint(layers, request_style(req), seed=1)
wall = time.perf_counter() - t
print(json.dumps({"size": f"{image.shape[1]}x{image.shape[0]}", "before": before, "peak": status("VmHWM"),
                  "wall": wall}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper", default="A1")
    ap.add_argument("--dpi", default="300")
    ap.add_argument("--styles", default=STYLES)
    ap.add_argument("--stage", choices=["all", "paint"], default="all", help="the whole render, or the painter alone")
    args = ap.parse_args()
    if args.stage == "paint":
        paint_stage(args)
        return
    print(f"{'style':<11}{'size':>12}{'wall s':>9}{'peak MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles.split(","):
            out = Path(tmp) / f"{style}.png"
            cmd = [sys.executable, "-m", "app", "render", "--example", "--style", style, "--paper", args.paper,
                   "--dpi", args.dpi, "-o", str(out)]  # fmt: skip
            t = time.perf_counter()
            with open(Path(tmp) / "out.txt", "w+") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
                _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest so far
                proc.returncode = os.waitstatus_to_exitcode(status)
                log.seek(0)
                text = log.read()
            wall = time.perf_counter() - t
            peak = usage.ru_maxrss
            if proc.returncode != 0:
                print(f"{style:<11} failed: {text.strip().splitlines()[-1:]}", flush=True)
                continue
            size = text.split("(")[-1].split(",")[0] if "(" in text else "?"
            print(f"{style:<11}{size:>12}{wall:>9.1f}{peak / 1024:>9.0f}", flush=True)


def paint_stage(args) -> None:
    print(f"{'style':<11}{'size':>12}{'paint s':>9}{'before MB':>11}{'peak MB':>9}{'painter MB':>12}")
    for style in args.styles.split(","):
        proc = subprocess.run([sys.executable, "-c", PAINT, args.paper, args.dpi, style], capture_output=True,
                              text=True, cwd=ROOT)  # fmt: skip
        if proc.returncode != 0:
            print(f"{style:<11} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{style:<11}{r['size']:>12}{r['wall']:>9.1f}{r['before']:>11.0f}{r['peak']:>9.0f}"
              f"{r['peak'] - r['before']:>12.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
