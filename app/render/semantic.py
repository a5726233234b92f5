"""The fixed semantic palette of the structure image, and default line widths per kind.

The structure image is the conditioning picture the AI engines see; its colours are part of the
contract (water is blue, parks green...), not a style choice.
"""

from __future__ import annotations

from app.mapdata.model import Kind

RGB = tuple[int, int, int]

BACKGROUND: RGB = (238, 230, 206)  # land, beige
LINE_ART: RGB = (20, 20, 20)  # outlines and road casings

# Fill (areas) or stroke (lines) colour per kind.
PALETTE: dict[Kind, RGB] = {
    Kind.SEA: (122, 170, 214),
    Kind.ADMIN: (232, 222, 192),
    Kind.PARK: (170, 211, 140),
    Kind.FOREST: (92, 146, 86),
    Kind.WATER: (122, 170, 214),
    Kind.WATERWAY: (96, 150, 204),
    Kind.BUILDING: (168, 164, 160),
    Kind.OTHER: (205, 198, 180),
    Kind.PATH: (250, 250, 250),
    Kind.SERVICE: (255, 255, 255),
    Kind.RESIDENTIAL: (255, 255, 255),
    Kind.TERTIARY: (255, 250, 200),
    Kind.SECONDARY: (250, 226, 140),
    Kind.PRIMARY: (246, 200, 96),
    Kind.MOTORWAY: (236, 150, 70),
    Kind.RAIL: (0, 0, 0),
    Kind.TRACK: (220, 30, 30),
    Kind.POI: (60, 40, 30),
    Kind.PLACE: (60, 40, 30),
}

# Line widths in px at a 1024-px short side (RasterSpec.widths overrides, width_scale multiplies).
LINE_WIDTHS: dict[Kind, float] = {
    Kind.MOTORWAY: 5.0,
    Kind.PRIMARY: 4.0,
    Kind.SECONDARY: 3.2,
    Kind.TERTIARY: 2.6,
    Kind.RESIDENTIAL: 1.8,
    Kind.SERVICE: 1.2,
    Kind.PATH: 0.9,
    Kind.RAIL: 1.5,
    Kind.WATERWAY: 2.0,
    Kind.TRACK: 3.0,
    Kind.OTHER: 2.4,  # a route drawn in a web map, a line of a dataset without map tags
}
DEFAULT_LINE_WIDTH = 1.0  # lines of area kinds (a park drawn as a line), admin borders
OUTLINE_WIDTH = 0.8  # outlines of areas in the structure image and the line art
CASING_WIDTH = 0.6  # dark edge on each side of a road in the structure image

# Areas whose outline is map line art (coastlines, shores, edges of woods and parks, building outlines).
OUTLINED_AREAS = frozenset({Kind.SEA, Kind.WATER, Kind.PARK, Kind.FOREST, Kind.BUILDING, Kind.ADMIN})
# Kinds whose lines get a dark casing in the structure image.
CASED = frozenset({Kind.MOTORWAY, Kind.PRIMARY, Kind.SECONDARY, Kind.TERTIARY, Kind.RESIDENTIAL, Kind.SERVICE})
# Kinds not drawn into the structure image (their names are drawn by the overlay).
NOT_IN_STRUCTURE = frozenset({Kind.PLACE})
# Data without map tags (countries, census blocks, arbitrary areas): each area gets a border of its own, so
# neighbours read as distinct areas, and a tone class (Layers.tones); their lines and points get a mask of their
# own (Layers.marks) so a style can ink them apart from the areas.
BORDERED = frozenset({Kind.ADMIN, Kind.OTHER})
BORDER_WIDTH = 1.0  # px at a 1024-px short side (at least 1 px)
# Disc radius of points, px at a 1024-px short side, where not RasterSpec.point_radius: a plain point of a
# dataset is the data itself, marked clearly (a POI or place also gets the overlay's marker and name).
POINT_RADII: dict[Kind, float] = {Kind.OTHER: 5.0, Kind.ADMIN: 5.0}


def point_radius(kind: Kind, short_side: int, default: float = 3.0) -> float:
    """Disc radius in px of a point of `kind` on an image whose short side is `short_side` px."""
    return POINT_RADII.get(kind, default) * short_side / 1024.0


def line_width(kind: Kind, short_side: int, width_scale: float = 1.0, widths: dict | None = None) -> float:
    """Stroke width in px for a kind on an image whose short side is `short_side` px."""
    base = (widths or {}).get(kind, LINE_WIDTHS.get(kind, DEFAULT_LINE_WIDTH))
    return float(base) * short_side / 1024.0 * float(width_scale)
