"""MapBrush: map data in, finished map art out."""

__version__ = "0.1.0"
