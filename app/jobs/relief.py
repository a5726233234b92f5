"""Relief for a render: the elevation tiles under the scene's frame fetched (or read from the cache), resampled
onto the canvas as Layers.relief, the structure image shaded with it, and the tiles credited on the map."""

from __future__ import annotations

from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress


def add_relief(scene, layers, *, config=None, progress: Progress = NULL_PROGRESS,
               cancel: CancelToken = NEVER) -> tuple[dict | None, list[str]]:  # fmt: skip
    """Put the terrain under `scene` on `layers` (in place); returns (metadata of the relief source, warnings).

    With no tile to be had (no network and nothing cached) the map is drawn without relief and the warning says
    so; a few tiles missing are filled in from their neighbours, with a warning too.
    """
    from app.render.relief import relief_for, shade_structure
    from app.sources import SourceConfig
    from app.sources.cache import Cache
    from app.sources.terrain import TERRAIN_ATTRIBUTION, TerrainUnavailable, fetch_dem

    config = config or SourceConfig.load()
    try:
        dem = fetch_dem(scene.frame.lonlat_bounds, scene.size, cache=Cache.from_config(config), config=config,
                        progress=progress, cancel=cancel)  # fmt: skip
    except TerrainUnavailable as exc:
        return None, [f"drawn without relief: {exc.one_line()}"]
    relief = relief_for(scene.frame, dem, cancel=cancel)
    shade_structure(layers.structure, relief, layers.masks)
    layers.relief = relief
    credit = getattr(scene, "attribution", None)
    if credit is not None and TERRAIN_ATTRIBUTION not in credit:
        credit.append(TERRAIN_ATTRIBUTION)
    return {**dem.metadata(), "exaggeration": round(relief.exaggeration, 2)}, list(dem.warnings)
