"""Structural checks of a shapefile's .shp/.shx/.dbf before GDAL reads it.

GDAL skips records it cannot read and returns them without geometry; we would rather say the file
is broken than draw half of it. All checks read headers only (vectorised over the index), never geometry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import InputError

_MAGIC = 9994


def find_sidecar(shp: Path, ext: str) -> Path | None:
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def _corrupt(what: str, shown) -> InputError:
    return InputError(f"the shapefile is corrupt: {what}", path=shown)


def _check_main_header(head: bytes, size: int, name: str, shown) -> None:
    if len(head) < 100 or int.from_bytes(head[0:4], "big") != _MAGIC:
        raise _corrupt(f"{name} does not start with a shapefile header", shown)
    declared = int.from_bytes(head[24:28], "big") * 2
    if declared > size:
        raise _corrupt(f"{name} is truncated ({size} of {declared} bytes)", shown)


def check_shapefile(shp: Path, shown) -> int:
    """Raise InputError when .shp, .shx and .dbf disagree; return the number of records."""
    shx = find_sidecar(shp, ".shx")
    if shx is None:
        raise InputError("the shapefile's .shx index file is missing (keep .shp, .shx and .dbf together)", path=shown)
    shp_size, shx_size = shp.stat().st_size, shx.stat().st_size
    with open(shp, "rb") as f:
        _check_main_header(f.read(100), shp_size, ".shp", shown)
    index = np.fromfile(shx, dtype=">i4")
    if len(index) < 25:
        raise _corrupt(".shx is too short", shown)
    _check_main_header(index[:25].tobytes(), shx_size, ".shx", shown)
    if (shx_size - 100) % 8:
        raise _corrupt(".shx has a partial record", shown)
    records = index[25:].reshape(-1, 2).astype(np.int64)
    offsets, lengths = records[:, 0] * 2, records[:, 1] * 2
    n = len(records)
    if n and (np.any(offsets < 100) or np.any(lengths < 0) or np.any(offsets + 8 + lengths > shp_size)):
        raise _corrupt(".shx points outside the .shp file", shown)
    if n:
        data = np.memmap(shp, dtype=np.uint8, mode="r")
        heads = data[offsets[:, None] + np.arange(8)].view(">i4").reshape(-1, 2)
        if np.any(heads[:, 0] != np.arange(1, n + 1)) or np.any(heads[:, 1].astype(np.int64) * 2 != lengths):
            raise _corrupt("the .shx index does not match the .shp records", shown)
        del data
    dbf = find_sidecar(shp, ".dbf")
    if dbf is not None:
        with open(dbf, "rb") as f:
            head = f.read(12)
        if len(head) < 12:
            raise _corrupt(".dbf is too short", shown)
        count = int.from_bytes(head[4:8], "little")
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        if header_len + count * record_len > dbf.stat().st_size:
            raise _corrupt(".dbf is truncated or its record length is wrong", shown)
        if count != n:
            raise _corrupt(f".dbf has {count} records but the .shp has {n}", shown)
    return n
