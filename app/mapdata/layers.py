"""Layer names: the one vocabulary of `--layers`/`--hide`, the window's Layers panel and the style files.

A layer is a name for a set of kinds. The panel's layers do not overlap, so each checkbox hides exactly its own
kinds; the broader and finer names (roads = streets + paths, green = parks + forest, major_roads, ...) are for the
command line and the style files. Every Kind value ("motorway", "waterway", ...) is accepted as well, and so are
singular and plural spellings ("park"/"parks", "building"/"buildings"). Two layer names are not kinds of feature:
the labels (the overlay's names) and the imagery (pictures laid under the map, such as KML GroundOverlays).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from app.mapdata.model import Kind

LABELS = "labels"  # street and place names: the overlay, not a kind of feature
IMAGERY = "imagery"  # pictures under the features (MapData.rasters: KML GroundOverlays), not features either
_NOT_KINDS: dict[str, str] = {LABELS: LABELS} | {
    n: IMAGERY for n in (IMAGERY, "pictures", "picture", "overlays", "overlay", "images", "image")
}
NOT_KINDS_PANEL = (IMAGERY, LABELS)  # after the kinds' checkboxes in the window's Layers panel


@dataclass(frozen=True)
class Layer:
    name: str
    kinds: tuple[Kind, ...]
    aliases: tuple[str, ...] = ()
    panel: bool = False  # a checkbox of its own in the window's Layers panel


_STREETS = (Kind.MOTORWAY, Kind.PRIMARY, Kind.SECONDARY, Kind.TERTIARY, Kind.RESIDENTIAL, Kind.SERVICE)

# The order is the panel's order; for a style's palette it is also the order in which a kind finds its colour
# (a path takes the palette's "roads" colour before "minor_roads").
LAYERS: tuple[Layer, ...] = (
    Layer("water", (Kind.SEA, Kind.WATER, Kind.WATERWAY), ("waters",), panel=True),
    Layer("inland_water", (Kind.WATER, Kind.WATERWAY)),
    Layer("green", (Kind.PARK, Kind.FOREST)),
    Layer("parks", (Kind.PARK,), ("park",), panel=True),
    Layer("forest", (Kind.FOREST,), ("forests", "woods"), panel=True),
    Layer("roads", (*_STREETS, Kind.PATH), ("road",)),
    Layer("major_roads", (Kind.MOTORWAY, Kind.PRIMARY, Kind.SECONDARY)),
    Layer("minor_roads", (Kind.TERTIARY, Kind.RESIDENTIAL, Kind.SERVICE, Kind.PATH)),
    Layer("lines", (Kind.RAIL, Kind.TRACK)),
    Layer("buildings", (Kind.BUILDING,), ("building",), panel=True),
    Layer("streets", _STREETS, ("street",), panel=True),
    Layer("paths", (Kind.PATH,), ("path", "footpaths"), panel=True),
    Layer("rail", (Kind.RAIL,), ("rails", "railway", "railways"), panel=True),
    Layer("tracks", (Kind.TRACK,), ("track", "gps"), panel=True),
    Layer("points", (Kind.POI,), ("point", "poi", "pois"), panel=True),
    Layer("places", (Kind.PLACE,), ("place",), panel=True),
    Layer("admin", (Kind.ADMIN,), ("areas", "boundaries"), panel=True),
    Layer("other", (Kind.OTHER,), (), panel=True),
)
PANEL: tuple[Layer, ...] = tuple(layer for layer in LAYERS if layer.panel)
GROUPS: dict[str, tuple[Kind, ...]] = {layer.name: layer.kinds for layer in LAYERS}

_LAYER_NAMES: dict[str, tuple[Kind, ...]] = {n: layer.kinds for layer in LAYERS for n in (layer.name, *layer.aliases)}
_BY_NAME: dict[str, tuple[Kind, ...]] = {k.value: (k,) for k in Kind} | _LAYER_NAMES


class UnknownLayer(ValueError):
    """A layer name nobody defined; the message lists the known names in one line."""


def known_names() -> str:
    names = [layer.name for layer in LAYERS]
    kinds = [k.value for k in Kind if k.value not in _LAYER_NAMES]
    return f"{', '.join(names)}, {IMAGERY}, {LABELS}; or a kind: {', '.join(kinds)}"


def is_layer(name: str) -> bool:
    return _normal(name) in _BY_NAME


def kinds_of(name: str) -> tuple[Kind, ...]:
    """The kinds a layer name (or alias, or Kind value) stands for; UnknownLayer otherwise."""
    try:
        return _BY_NAME[_normal(name)]
    except KeyError:
        raise UnknownLayer(f"unknown layer '{name}' (known: {known_names()})") from None


class Selection(NamedTuple):
    """Layers named on a command line: their kinds, and whether the labels and the imagery were among them."""

    kinds: frozenset[Kind]
    labels: bool
    imagery: bool


def parse_layers(text: str | Iterable[str]) -> Selection:
    """'water,roads,pictures' → their kinds, whether 'labels' and 'imagery' (or an alias) were named.
    UnknownLayer names every bad name."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not names:
        raise UnknownLayer(f"no layer named (known: {known_names()})")
    bad = [n for n in names if _normal(n) not in _NOT_KINDS and not is_layer(n)]
    if bad:
        plural = "s" if len(bad) > 1 else ""
        raise UnknownLayer(f"unknown layer{plural} {', '.join(repr(b) for b in bad)} (known: {known_names()})")
    special = {_NOT_KINDS.get(_normal(n)) for n in names}
    kinds = frozenset(k for n in names if _normal(n) not in _NOT_KINDS for k in kinds_of(n))
    return Selection(kinds, LABELS in special, IMAGERY in special)


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")
