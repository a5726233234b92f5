"""Georeferencing beside a picture: an ESRI world file (.pgw/.jgw/.wld) and a .prj, so GIS software (QGIS, via
GDAL) opens the map art where it belongs.

A world file holds six numbers, one a line: A, D, B, E, C, F, with the map coordinates of pixel (col i, row j)
X = A·i + B·j + C and Y = D·i + E·j + F, where (C, F) is the *centre* of the top-left pixel. Our frame's affine
(app.carto.scene.Frame.affine) maps projected metres to continuous pixel coordinates whose (0, 0) is the top-left
*corner*; the centre of pixel (i, j) is at (i + 0.5, j + 0.5). The affine of a rotated map is an exact
rotation and scale, so its world file carries the rotation terms B and D (GDAL reads them as its geotransform)
rather than being left out. The .prj holds the frame's CRS (a PROJ string, transverse Mercator or Equal Earth) as
ESRI WKT1, the dialect .prj files use; WKT1 GDAL, then WKT2, where ESRI's has no name for the projection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.export.png import save_atomic


def world_terms(affine: tuple[float, float, float, float, float, float]) -> tuple[float, ...]:
    """(A, D, B, E, C, F) of the world file for a frame affine (metres → pixel col/row)."""
    a, b, c, d, e, f = affine
    inv = np.linalg.inv(np.array([[a, b], [d, e]], float))
    x0, y0 = inv @ (np.array([0.5, 0.5]) - np.array([c, f]))
    return (float(inv[0, 0]), float(inv[1, 0]), float(inv[0, 1]), float(inv[1, 1]), float(x0), float(y0))


def prj_wkt(crs: str) -> str:
    """The CRS as WKT for a .prj file: ESRI WKT1, else WKT1 GDAL, else WKT2."""
    from pyproj import CRS
    from pyproj.enums import WktVersion
    from pyproj.exceptions import CRSError

    c = CRS.from_user_input(crs)
    for version in (WktVersion.WKT1_ESRI, WktVersion.WKT1_GDAL, WktVersion.WKT2_2019):
        try:
            text = c.to_wkt(version)
        except CRSError:
            continue
        if text:
            return text
    raise ValueError(f"the CRS {crs!r} has no WKT form")


def write_world_file(image_path: str | Path, frame, suffix: str) -> tuple[Path, Path]:
    """Write `<image>.<suffix>` (the world file) and `<image>.prj` beside the picture; returns both paths."""
    image_path = Path(image_path)
    world = image_path.with_suffix(suffix)
    prj = image_path.with_suffix(".prj")
    lines = "".join(f"{round(v, 10) + 0.0:.10f}\n" for v in world_terms(frame.affine))  # + 0.0: no "-0.0"
    save_atomic(world, lambda f: f.write(lines.encode()), "world file")
    wkt = prj_wkt(frame.crs)
    save_atomic(prj, lambda f: f.write(wkt.encode()), "projection file")
    return world, prj
