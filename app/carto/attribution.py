"""The credit lines a map owes its data's sources: OpenStreetMap's ODbL asks every map drawn from its data to say
"© OpenStreetMap contributors"; other sources (relief tiles) bring their own line."""

from __future__ import annotations

from collections.abc import Iterable

from app.sources import OSM_ATTRIBUTION

__all__ = ["OSM_ATTRIBUTION", "OSM_FORMATS", "attribution_lines"]
OSM_FORMATS = frozenset({"osm-xml", "osm-pbf"})


def attribution_lines(sources: Iterable, extra: Iterable[str] = ()) -> list[str]:
    """The lines owed to `sources` (SourceInfo of the files read, fetched or local), then `extra` (lines of sources
    that are not files, such as relief tiles); each line once, in that order."""
    lines = [OSM_ATTRIBUTION] if any(getattr(s, "format", None) in OSM_FORMATS for s in sources) else []
    lines += [str(x).strip() for x in extra]
    return list(dict.fromkeys(x for x in lines if x))
