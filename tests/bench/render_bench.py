"""Render benchmark: time per stage and peak memory, per input and size.

    python tests/bench/render_bench.py [--sizes 1024x1024,2048x2048] [--styles watercolor,poster] [--large N]
                                       [--streets N] [--runs N]

Each case runs in a fresh process (so peak RSS is that case's own). Inputs: the bundled demo town and a
generated large city (scripts/make_large_city.py, N features, default 100k; or with --streets N the city that
stops at N streets, the one tests/bench/compare_matplotlib.py draws). With --runs N every case runs N times and
the table shows the median of each figure (the machine is shared: single runs are noisy). Prints one table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CASE = r"""
import json, resource, sys, time
from pathlib import Path
from app.jobs.render import RenderRequest, render
from app.jobs.render import load
from app.export.png import write_png
inputs = [Path(p) for p in json.loads(sys.argv[1])]
w, h = map(int, sys.argv[2].split("x"))
style = sys.argv[3]
t = time.perf_counter(); data = load(inputs); t_read = time.perf_counter() - t
req = RenderRequest(inputs=inputs, style=style, size=(w, h), seed=1)
res = render(req, data=data)
t = time.perf_counter(); write_png(Path(sys.argv[4]), res.image, res.metadata); t_export = time.perf_counter() - t
tim = dict(res.timings); tim["read"] = t_read; tim["export"] = t_export
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"features": len(data), "timings": tim, "peak_rss_mb": rss}))
"""

STAGES = ["read", "compose", "rasterize", "paint", "labels", "finish", "export"]


def run_case(inputs: list[Path], size: str, style: str, out: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CASE, json.dumps([str(p) for p in inputs]), size, style, str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"case failed: {inputs} {size} {style}\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def median_case(runs: list[dict]) -> dict:
    """One case's figures, each the median over `runs`."""
    out = dict(runs[0])
    out["timings"] = {k: statistics.median(r["timings"].get(k, 0.0) for r in runs) for k in runs[0]["timings"]}
    for k in ("wall", "peak_rss_mb"):
        out[k] = statistics.median(r[k] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024x1024,2048x2048")
    ap.add_argument("--styles", default="watercolor")
    ap.add_argument("--large", type=int, default=100_000, help="features in the generated city (0: skip)")
    ap.add_argument("--streets", type=int, default=0, help="the generated city stops at N streets (instead of --large)")
    ap.add_argument("--runs", type=int, default=1, help="runs per case; the table shows medians")
    args = ap.parse_args()

    examples = ROOT / "resources" / "examples"
    cases: list[tuple[str, list[Path]]] = [
        ("demo town + hike", [examples / "harbour_town.geojson", examples / "harbour_hike.gpx"])
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if args.large or args.streets:
            city = Path(tmp) / "city.geojson"
            how = ["--streets", str(args.streets)] if args.streets else ["--features", str(args.large)]
            subprocess.run([sys.executable, str(ROOT / "scripts" / "make_large_city.py"), str(city), *how],
                           check=True, cwd=ROOT)  # fmt: skip
            name = f"city {args.streets} streets" if args.streets else f"generated city {args.large // 1000}k"
            cases.append((name, [city]))
        header = f"{'input':<22}{'features':>9} {'size':>10} {'style':<11}" + "".join(f"{s:>10}" for s in STAGES)
        print(header + f"{'total':>9}{'wall':>8}{'peak MB':>9}")
        for name, inputs in cases:
            for size in args.sizes.split(","):
                for style in args.styles.split(","):
                    r = median_case([run_case(inputs, size, style, Path(tmp) / "out.png") for _ in range(args.runs)])
                    t = r["timings"]
                    total = sum(t.get(s, 0.0) for s in STAGES)
                    cells = "".join(f"{t.get(s, 0.0):>10.3f}" for s in STAGES)
                    print(
                        f"{name:<22}{r['features']:>9} {size:>10} {style:<11}{cells}"
                        f"{total:>9.2f}{r['wall']:>8.2f}{r['peak_rss_mb']:>9.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
