"""Limits that keep a hostile or accidental file from eating the machine."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one input file. Anything over them is refused with an InputError."""

    max_file_size: int = 2 * GiB  # bytes on disk
    max_uncompressed_size: int = 4 * GiB  # bytes after unzipping / gunzipping, all members together
    max_zip_members: int = 10_000
    max_compression_ratio: float = 200.0  # uncompressed / compressed, checked once a stream passes ratio_floor
    ratio_floor: int = 4 * MiB  # small streams may compress as well as they like
    max_features: int = 3_000_000
    max_image_pixels: int = 64_000_000  # one picture in a file (a KML GroundOverlay), checked before decoding
    # Attribute columns of a GeoJSON file (distinct property keys). Readers build a features × columns table, so
    # beyond this a file where every feature has its own keys costs quadratic time and memory: only the columns
    # that name or classify features are read (app/mapdata/readers/geojson.py).
    max_fields: int = 1000
    lon_range: tuple[float, float] = (-180.0, 180.0)
    lat_range: tuple[float, float] = (-90.0, 90.0)
    coord_tolerance: float = 1e-6  # degrees: coordinates this close outside the range are rounding, clamped


DEFAULT_LIMITS = Limits()
