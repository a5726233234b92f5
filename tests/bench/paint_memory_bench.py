"""Peak memory of a print-size render per style (issue 14 §4: A1 at 300 dpi within 3 GB on the procedural engine).

    python tests/bench/paint_memory_bench.py [--paper A1] [--dpi 300] [--styles watercolor,poster]

Each style renders the bundled example in a fresh `mapbrush render` process; the table shows that process's peak
resident memory (ru_maxrss of the child) and wall time. Not a test: it prints figures. Check `free -g` first, a
render at A1 takes several GB today.
"""

from __future__ import annotations

import argparse
import os
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


if __name__ == "__main__":
    main()
