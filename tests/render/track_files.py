"""GPX files shaped like real outings, written on demand for the track tests (not a test module): a mountain
hike climbing about 1,000 m with named waypoints, a loop round a lake, and a file of two days' tracks.
`python -m tests.render.track_files DIR` writes them for looking at renders."""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="mapbrush-tests" ' \
    'xmlns="http://www.topografix.com/GPX/1/1">\n'  # fmt: skip


def _trk(name: str, lon, lat, ele=None, start_hour: int = 7) -> str:
    pts = []
    for k, (lo, la) in enumerate(zip(lon, lat)):
        e = f"<ele>{ele[k]:.1f}</ele>" if ele is not None else ""
        t = f"<time>2024-08-03T{start_hour + k // 120:02d}:{(k // 2) % 60:02d}:{30 * (k % 2):02d}Z</time>"
        pts.append(f'      <trkpt lat="{la:.6f}" lon="{lo:.6f}">{e}{t}</trkpt>')
    body = "\n".join(pts)
    head = f"  <trk>\n    <name>{escape(name)}</name>\n    <type>hiking</type>\n    <trkseg>\n"
    return head + body + "\n    </trkseg>\n  </trk>\n"


def _wpt(name: str, lon: float, lat: float, ele: float | None = None, sym: str = "Flag, Blue") -> str:
    e = f"<ele>{ele:.1f}</ele>" if ele is not None else ""
    return f'  <wpt lat="{lat:.6f}" lon="{lon:.6f}">{e}<name>{escape(name)}</name><sym>{sym}</sym></wpt>\n'


def hike_points(n: int = 500):
    """A valley-to-summit hike in the Julian Alps (about 9 km, 880 m → 1,930 m) that zigzags up the slope."""
    t = np.linspace(0.0, 1.0, n)
    lon = 13.742 + 0.052 * t + 0.004 * np.sin(t * 31.0) * t
    lat = 46.452 + 0.041 * t**1.15 + 0.003 * np.cos(t * 13.0)
    ele = 880.0 + 1050.0 * (3 * t**2 - 2 * t**3) + 6.0 * np.sin(t * 90.0)  # steeper in the middle, GPS wobble
    return lon, lat, ele


def write_hike(path: Path, *, elevations: bool = True) -> Path:
    lon, lat, ele = hike_points()
    e = ele if elevations else None
    wpts = _wpt("Koča pri izviru", lon[0], lat[0], e[0] if elevations else None, "Lodge")
    wpts += _wpt("Planina Zgornja", lon[260], lat[260], e[260] if elevations else None, "Flag, Green")
    wpts += _wpt("Vrh Kamnitnika", lon[-1], lat[-1], e[-1] if elevations else None, "Summit")
    text = HEADER + "  <metadata><name>Vrh Kamnitnika</name></metadata>\n" + wpts
    text += _trk("Up to Vrh Kamnitnika", lon, lat, e) + "</gpx>\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_loop(path: Path) -> Path:
    """A walk round a lake that ends within a few metres of where it set off."""
    a = np.linspace(0.0, 2 * np.pi * 0.995, 300)
    lon = 14.09 + 0.018 * np.cos(a) + 0.002 * np.sin(5 * a)
    lat = 46.364 + 0.009 * np.sin(a)
    ele = 480.0 + 35.0 * np.sin(a) ** 2
    text = HEADER + _trk("Round the lake", lon, lat, ele) + "</gpx>\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_two_days(path: Path) -> Path:
    """Two days of a trek in one file: day 1 west to east along the valley, day 2 north over the pass."""
    t = np.linspace(0.0, 1.0, 260)
    lon1, lat1 = 13.60 + 0.08 * t, 46.40 + 0.004 * np.sin(t * 9.0)
    ele1 = 700.0 + 120.0 * t + 10.0 * np.sin(t * 20.0)
    lon2, lat2 = 13.68 + 0.006 * np.sin(t * 7.0), 46.40 + 0.05 * t
    ele2 = 820.0 + 900.0 * np.sin(np.pi * t)
    wpts = _wpt("Camp Bistrica", lon1[-1], lat1[-1], ele1[-1], "Campground")
    text = HEADER + wpts + _trk("Day 1: along the Bistrica", lon1, lat1, ele1)
    text += _trk("Day 2: over Prevala", lon2, lat2, ele2, start_hour=8) + "</gpx>\n"
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for w, name in ((write_hike, "hike.gpx"), (write_loop, "loop.gpx"), (write_two_days, "two_days.gpx")):
        print(w(out / name))
