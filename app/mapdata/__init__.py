"""Map files → MapData (lon/lat, EPSG:4326)."""

from app.mapdata.model import Kind, MapData, SourceInfo

__all__ = ["Kind", "MapData", "SourceInfo"]
