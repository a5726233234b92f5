"""Peak memory of a print-size render per style (issue 14 §4: A1 at 300 dpi within 3 GB on the procedural engine).

    python tests/bench/paint_memory_bench.py [--paper A1] [--dpi 300] [--styles watercolor,poster]

Each style renders the bundled example in a fresh `mapbrush render` process; the table shows that process's peak
resident memory (ru_maxrss of the child) and wall time. Not a test: it prints figures. Check `free -g` first, a
render at A1 takes several GB today.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STYLES = "blueprint,fantasy,ink,noir,parchment,poster,watercolor"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper", default="A1")
    ap.add_argument("--dpi", default="300")
    ap.add_argument("--styles", default=STYLES)
    args = ap.parse_args()
    print(f"{'style':<11}{'size':>12}{'wall s':>9}{'peak MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles.split(","):
            out = Path(tmp) / f"{style}.png"
            cmd = [sys.executable, "-m", "app", "render", "--example", "--style", style, "--paper", args.paper,
                   "--dpi", args.dpi, "-o", str(out)]  # fmt: skip
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
            if proc.returncode != 0:
                print(f"{style:<11} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            size = proc.stdout.split("(")[1].split(",")[0] if "(" in proc.stdout else "?"
            note = "" if peak > before else "  (at most the previous row's)"
            print(f"{style:<11}{size:>12}{wall:>9.1f}{peak / 1024:>9.0f}{note}", flush=True)


if __name__ == "__main__":
    main()
