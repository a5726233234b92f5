"""The sea of a coastline shows on the picture: the bay of a cut Helsinki-like extract is painted, the town is not."""

from __future__ import annotations

import numpy as np
import pytest

from app.carto.framing import lonlat_to_px
from app.jobs.render import RenderRequest, render
from app.mapdata.model import Kind
from tests.mapdata import coast_samples as hel

SIZE = (480, 360)


def _patches(res, points, r: int = 4) -> np.ndarray:
    """Mean colour of a (2r+1)² patch of the finished picture around each lon/lat point."""
    out = []
    for lon, lat in points:
        col, row = lonlat_to_px(res.scene.frame, np.array([lon]), np.array([lat]))
        c, rr = round(float(col[0])), round(float(row[0]))
        assert r <= c < SIZE[0] - r and r <= rr < SIZE[1] - r, (lon, lat)
        out.append(res.image[rr - r : rr + r + 1, c - r : c + r + 1].reshape(-1, 3).mean(axis=0))
    return np.array(out)


@pytest.mark.parametrize("style", ["watercolor", "parchment", "noir"])
def test_the_bay_is_painted_as_sea(tmp_path, style):
    with_coast = hel.write_helsinki(tmp_path / "helsinki.osm", cut="trim")
    without = hel.write_helsinki(tmp_path / "town.osm", cut="trim", coast=False)
    req = dict(style=style, size=SIZE, seed=5, title="", labels=False, scale_bar=False, north_arrow=False)
    sea = render(RenderRequest([with_coast], **req))
    town = render(RenderRequest([without], **req))
    assert not [w for w in sea.warnings if "coastline" in w]
    # the sea mask covers the bay and not the town
    mask = sea.layers.masks[Kind.SEA]
    for (lon, lat), want in [(p, True) for p in hel.SEA_POINTS] + [(p, False) for p in hel.LAND_POINTS]:
        col, row = lonlat_to_px(sea.scene.frame, np.array([lon]), np.array([lat]))
        assert bool(mask[int(row[0]), int(col[0])] > 127) is want, (lon, lat)
    assert Kind.SEA not in town.layers.masks or not town.layers.masks[Kind.SEA].any()
    # and the picture shows it: bay pixels change colour once the coast is there, far more than the town's do
    bay = np.abs(_patches(sea, hel.SEA_POINTS) - _patches(town, hel.SEA_POINTS)).sum(axis=1)
    land = np.abs(_patches(sea, hel.LAND_POINTS[:2]) - _patches(town, hel.LAND_POINTS[:2])).sum(axis=1)
    assert bay.min() > 25, bay
    assert bay.mean() > 3 * land.mean() + 10, (bay, land)
