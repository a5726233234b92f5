"""Real-world-shaped sample files written on demand (not test modules): a small OSM-XML coastal city and a
GPX mountain hike. Run `python -m tests.render.sample_places DIR` to write both for looking at renders."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

# Norhamn: a made-up harbour city on a northern coast, 0.07° × 0.03° (about 3.9 × 3.3 km). The coast runs
# west → east across the south (land on the left, as OSM draws coastlines), the sea below it.
CITY_BOUNDS = (24.90, 60.150, 24.97, 60.180)


class _Osm:
    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self._next = 1

    def node(self, lon: float, lat: float, tags: dict | None = None) -> int:
        nid = self._next
        self._next += 1
        body = "".join(f"\n    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in (tags or {}).items())
        attrs = f'id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"'
        self.nodes.append(f"  <node {attrs}>{body}\n  </node>" if body else f"  <node {attrs}/>")
        return nid

    def way(self, coords, tags: dict, closed: bool = False) -> None:
        refs = [self.node(x, y) for x, y in coords]
        if closed:
            refs.append(refs[0])
        wid = self._next
        self._next += 1
        nds = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
        body = "".join(f"\n    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items())
        self.ways.append(f'  <way id="{wid}" version="1">{nds}{body}\n  </way>')


def _coast_lat(lon: float) -> float:
    w, s, e, _n = CITY_BOUNDS
    t = (lon - w) / (e - w)
    return s + 0.0045 + 0.0025 * math.sin(t * 7.0) + 0.0015 * math.sin(t * 17.0)


def write_osm_city(path: Path, seed: int = 7) -> Path:
    """An OSM-XML extract of a street grid with named streets of every class, building blocks, a park, a lake,
    a river, a railway, a coastline with the sea south of it, a city node and a few notable points."""
    rng = np.random.default_rng(seed)
    w, s, e, n = CITY_BOUNDS
    osm = _Osm()
    coast = [(lon, _coast_lat(lon)) for lon in np.linspace(w - 0.002, e + 0.002, 60)]
    osm.way(coast, {"natural": "coastline"})
    names = ["Harbour", "Mill", "Church", "Market", "Fisher", "Rope", "Salt", "Tar", "Linden", "Bell"]
    lons = np.arange(w + 0.003, e - 0.001, 0.0045)
    lats = np.arange(s + 0.006, n - 0.0005, 0.0022)
    for i, lat in enumerate(lats):
        cls = "primary" if i == 4 else ("secondary" if i % 4 == 1 else "residential")
        osm.way([(w - 0.001, lat), (e + 0.001, lat + 0.0004)], {"highway": cls, "name": f"{names[i % 10]} Street"})
    for j, lon in enumerate(lons):
        cls = "tertiary" if j % 4 == 2 else "residential"
        south = _coast_lat(lon) + 0.0008
        osm.way([(lon, south), (lon + 0.0006, n + 0.001)], {"highway": cls, "name": f"{names[j % 10]} Road"})
    osm.way([(w - 0.001, s + 0.0185), (w + 0.03, n - 0.004), (e + 0.001, n - 0.001)], {"highway": "motorway"})
    osm.way([(w - 0.001, n - 0.0075), (e + 0.001, n - 0.0085)], {"railway": "rail", "name": "Coast Line"})
    river = [(w + 0.041 + 0.002 * math.sin(k / 2.0), n + 0.001 - k * 0.0011) for k in range(30)]
    river = [(x, y) for x, y in river if y > _coast_lat(x)]
    osm.way(river, {"waterway": "river", "name": "Norå"})
    park = [(w + 0.010, s + 0.0140), (w + 0.0195, s + 0.0140), (w + 0.0195, s + 0.0205), (w + 0.010, s + 0.0205)]
    osm.way(park, {"leisure": "park", "name": "Kings Park"}, closed=True)
    lake = [(w + 0.055 + 0.004 * math.cos(a), s + 0.021 + 0.002 * math.sin(a)) for a in np.linspace(0, 6.0, 24)]
    osm.way(lake, {"natural": "water", "name": "Mill Pond"}, closed=True)
    for lon in lons[:-1]:
        for lat in lats[:-1]:
            if w + 0.010 <= lon <= w + 0.0195 and s + 0.012 <= lat <= s + 0.0205:
                continue  # the park
            for _ in range(4):
                x = lon + rng.uniform(0.0006, 0.0036)
                y = lat + rng.uniform(0.0003, 0.0017)
                if y < _coast_lat(x) + 0.0009:
                    continue
                dx, dy = rng.uniform(0.00015, 0.0004), rng.uniform(0.0001, 0.0002)
                osm.way([(x, y), (x + dx, y), (x + dx, y + dy), (x, y + dy)], {"building": "yes"}, closed=True)
    osm.node(w + 0.035, s + 0.016, {"place": "city", "name": "Norhamn", "population": "84000"})
    osm.node(w + 0.020, s + 0.009, {"tourism": "museum", "name": "Maritime Museum"})
    osm.node(w + 0.046, s + 0.022, {"amenity": "place_of_worship", "name": "St. Olaf"})
    osm.node(w + 0.030, s + 0.011, {"amenity": "cafe", "name": "Kaffe Hörnan"})
    header = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="mapbrush-tests">'
    bounds = '  <bounds minlon="{}" minlat="{}" maxlon="{}" maxlat="{}"/>'.format(*CITY_BOUNDS)
    path.write_text("\n".join([header, bounds, *osm.nodes, *osm.ways, "</osm>"]) + "\n", encoding="utf-8")
    return path


def write_gpx_hike(path: Path) -> Path:
    """A mountain hike that winds from a valley village in the south-west up to a summit in the north-east,
    with elevations, times, a track name and two waypoints; it ends near the top-right corner of its frame."""
    t = np.linspace(0.0, 1.0, 400)
    lon = 13.70 + 0.11 * t + 0.008 * np.sin(t * 23.0)
    lat = 46.45 + 0.06 * t**1.3 + 0.006 * np.cos(t * 17.0)
    ele = 810.0 + 1250.0 * t**1.2 + 25.0 * np.sin(t * 40.0)
    pts = "\n".join(
        f'      <trkpt lat="{la:.6f}" lon="{lo:.6f}"><ele>{el:.1f}</ele>'
        f"<time>2024-07-20T{6 + k // 60:02d}:{k % 60:02d}:00Z</time></trkpt>"
        for k, (lo, la, el) in enumerate(zip(lon, lat, ele))
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="mapbrush-tests" xmlns="http://www.topografix.com/GPX/1/1">
  <metadata><name>Up to Vrh Grebena</name></metadata>
  <wpt lat="{lat[0]:.6f}" lon="{lon[0]:.6f}"><ele>{ele[0]:.1f}</ele><name>Dolina</name></wpt>
  <wpt lat="{lat[-1]:.6f}" lon="{lon[-1]:.6f}"><ele>{ele[-1]:.1f}</ele><name>Vrh Grebena</name></wpt>
  <trk>
    <name>Up to Vrh Grebena</name>
    <type>hiking</type>
    <trkseg>
{pts}
    </trkseg>
  </trk>
</gpx>
"""
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    print(write_osm_city(out / "norhamn.osm"), write_gpx_hike(out / "hike.gpx"))
