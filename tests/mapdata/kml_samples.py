"""KML and KMZ files shaped like the ones people make: placemarks over a scanned-map GroundOverlay, a Google
Earth super-overlay (Region/Lod tile pyramid behind NetworkLinks), and hostile archives. Written fresh by
each test into its tmp_path; images are small generated JPEGs/PNGs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">\n'
)

# A lake-side village: placemarks at the corners of a ~6 km window, a scanned map in the middle.
WINDOW = (14.05, 46.33, 14.15, 46.39)  # west, south, east, north: spanned by the placemarks
BOX = (14.08, 46.35, 14.12, 46.37)  # the GroundOverlay's LatLonBox
PLACES = [("Mlino", 14.05, 46.33), ("Zasip", 14.15, 46.39), ("Ribno", 14.15, 46.33), ("Bodesce", 14.05, 46.39)]


def image_bytes(w: int, h: int, colour=None, fmt: str = "JPEG", seed: int = 0) -> bytes:
    """A scanned-map-like picture: a colour field with a darker blob and some grain (or one flat colour)."""
    rng = np.random.default_rng(seed)
    if colour is not None:
        a = np.empty((h, w, 3), np.uint8)
        a[:] = colour
    else:
        y, x = np.mgrid[0:h, 0:w]
        a = np.stack([60 + 120 * x / w, 90 + 100 * y / h, 70 + 0 * x], axis=-1)
        a[(x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2] = (30, 50, 120)  # the lake
        a = np.clip(a + rng.normal(0, 6, a.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt)
    return buf.getvalue()


def placemarks(places=PLACES) -> str:
    return "".join(
        f"<Placemark><name>{n}</name><Point><coordinates>{lon},{lat}</coordinates></Point></Placemark>\n"
        for n, lon, lat in places
    )


def ground_overlay(name: str, href: str, box=BOX, rotation: float = 0.0, region: str = "", order: int = 0) -> str:
    w, s, e, n = box
    return (
        f"<GroundOverlay><name>{name}</name>{region}<drawOrder>{order}</drawOrder><Icon><href>{href}</href></Icon>"
        f"<LatLonBox><north>{n}</north><south>{s}</south><east>{e}</east><west>{w}</west>"
        f"<rotation>{rotation}</rotation></LatLonBox></GroundOverlay>\n"
    )


def region(box, min_lod: int = 128, max_lod: int = -1) -> str:
    w, s, e, n = box
    return (
        f"<Region><LatLonAltBox><north>{n}</north><south>{s}</south><east>{e}</east><west>{w}</west>"
        f"</LatLonAltBox><Lod><minLodPixels>{min_lod}</minLodPixels><maxLodPixels>{max_lod}</maxLodPixels>"
        "</Lod></Region>"
    )


def network_link(name: str, href: str, reg: str = "") -> str:
    return f"<NetworkLink><name>{name}</name>{reg}<Link><href>{href}</href></Link></NetworkLink>\n"


def kml(body: str, name: str = "doc") -> str:
    return f"{HEAD}<Document><name>{name}</name>\n{body}</Document></kml>\n"


def write_kmz(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def village_kml(folder: Path, *, with_image: bool = True, rotation: float = 12.0) -> Path:
    """village.kml with four placemarks and one GroundOverlay (scan.jpg beside it, unless with_image=False)."""
    folder.mkdir(parents=True, exist_ok=True)
    if with_image:
        (folder / "scan.jpg").write_bytes(image_bytes(160, 120))
    path = folder / "village.kml"
    path.write_text(kml(placemarks() + ground_overlay("Old survey", "scan.jpg", rotation=rotation), "Village"))
    return path


def _split(box):
    w, s, e, n = box
    mx, my = (w + e) / 2, (s + n) / 2
    return [(w, my, mx, n), (mx, my, e, n), (w, s, mx, my), (mx, s, e, my)]


LEVEL_COLOURS = {0: (200, 40, 40), 1: (40, 160, 60)}  # red top tile, green tiles below it


def super_overlay_kmz(path: Path, box=BOX) -> Path:
    """Google Earth's super-overlay: doc.kml → NetworkLink (Region) → 0/0.kml (a 256-px tile of the whole box and
    four NetworkLinks with Regions) → 1/i.kml (a 256-px tile of each quarter). Level 0 is red, level 1 green."""
    members: dict[str, str | bytes] = {}
    top = kml(network_link("Survey tiles", "0/0.kml", region(box)), "Survey")
    links = ""
    for i, q in enumerate(_split(box)):
        links += network_link(f"tile 1/{i}", f"1/{i}.kml", region(q))
        members[f"0/1/{i}.kml"] = kml(ground_overlay(f"1/{i}", f"{i}.jpg", q, region=region(q), order=1), f"1/{i}")
        members[f"0/1/{i}.jpg"] = image_bytes(256, 256, LEVEL_COLOURS[1])
    members["doc.kml"] = top
    members["0/0.kml"] = kml(ground_overlay("0/0", "0.jpg", box, region=region(box), order=0) + links, "0/0")
    members["0/0.jpg"] = image_bytes(256, 256, LEVEL_COLOURS[0])
    return write_kmz(path, members)
