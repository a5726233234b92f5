"""MapBrush vs a plain geopandas + matplotlib plot (the way prettymaps draws), process start included.

    python tests/bench/compare_matplotlib.py [--streets 3000] [--size 2048] [--styles poster,watercolor] [--runs 3]

Needs geopandas and matplotlib for the comparison (not MapBrush dependencies): pip install geopandas matplotlib.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MATPLOTLIB = r"""
import sys
import geopandas as gpd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
gdf = gpd.read_file(sys.argv[1])
size = int(sys.argv[2])
fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
ax.set_axis_off()
polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
lines = gdf[gdf.geom_type.isin(["LineString", "MultiLineString"])]
polys.plot(ax=ax, color="#d8cfc0", edgecolor="#8a7f70", linewidth=0.3)
lines.plot(ax=ax, color="#333333", linewidth=0.8)
fig.savefig(sys.argv[3], dpi=100)
"""


# As installed programs run: with their bytecode cached (pip compiles site-packages; an editable MapBrush writes its
# own __pycache__ on the first run). A shell that sets PYTHONDONTWRITEBYTECODE would make MapBrush alone recompile
# its ~150 modules (~0.2 s) on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=ENV)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streets", type=int, default=3000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--styles", default="poster,watercolor")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--mapbrush-python",
        default=sys.executable,
        help="interpreter for MapBrush: use an environment WITHOUT geopandas, as users have it (pyogrio imports "
        "geopandas and pandas whenever they are installed, which costs ~0.35 s of start-up)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city.geojson"
        subprocess.run(
            [sys.executable, "scripts/make_large_city.py", str(city), "--streets", str(args.streets)],
            check=True,
            cwd=ROOT,
        )
        size = f"{args.size}x{args.size}"
        rows = []
        mpl_cmd = [sys.executable, "-c", MATPLOTLIB, str(city), str(args.size), f"{tmp}/mpl.png"]
        timed(mpl_cmd)  # warm-up, not counted: the OS file cache, bytecode
        mpl = [timed(mpl_cmd) for _ in range(args.runs)]
        rows.append(("geopandas + matplotlib", mpl))
        for style in args.styles.split(","):
            cmd = [args.mapbrush_python, "-m", "app", "render", str(city), "--style", style, "--size", size,
                   "-o", f"{tmp}/mb.png"]  # fmt: skip
            timed(cmd)  # warm-up, not counted
            rows.append((f"mapbrush render --style {style}", [timed(cmd) for _ in range(args.runs)]))
        print(f"{args.streets}-street city, {size}, wall seconds incl. process start (median of {args.runs})")
        for name, times in rows:
            print(f"  {name:<36} {statistics.median(times):6.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
