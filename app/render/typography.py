"""Typography: how a style wants its text and map furniture drawn by the overlay."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Typography:
    # Font files under resources/fonts/ (shipped, open-licensed).
    title_font: str = "EBGaramond-Regular.ttf"
    label_font: str = "EBGaramond-Regular.ttf"
    title_color: str = "#2b2118"
    label_color: str = "#2b2118"
    halo_color: str = "#f4ecd8"  # outline around labels for legibility
    halo_width: float = 2.0  # px at a 1024-px short side
    label_size: float = 11.0  # px at a 1024-px short side
    title_size: float = 48.0  # px at a 1024-px short side
    title_uppercase: bool = False
    letter_spacing: float = 0.0  # em
    cartouche: str = "box"  # "none" | "box" | "banner" | "ornate"
    cartouche_fill: str = "#f4ecd8"
    north_arrow: str = "simple"  # "none" | "simple" | "compass"
    scale_bar: bool = True
    ink: str = "#2b2118"  # colour of scale bar, north arrow, cartouche lines
    water_font: str = "EBGaramond-Italic.ttf"  # names of seas, lakes and rivers
    water_color: str = "#2f5d86"
    elevation_profile: bool = False  # a track's elevation profile strip, where the track has elevations
    # Colours of several tracks (first the style's own track colour): filled by the style catalog from the
    # palette (track, track2, track3… else hues around track: app.render.tracks.track_palette), not in TOML.
    track_colors: tuple[str, ...] = ("#c0504d",)
    # Density: labels cover at most this fraction of the picture, and there are at most `label_density` of them
    # per megapixel of the picture brought to a 1024-px short side (both scale with the output size).
    label_budget: float = 0.025
    label_density: float = 50.0
