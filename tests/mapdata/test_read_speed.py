from __future__ import annotations

import time

import numpy as np
import pytest

from app.mapdata.io import read_file
from app.mapdata.model import Kind


def write_big_geojson(path, n: int) -> None:
    """n features: a third 6-vertex streets, a third square buildings, a third named cafés."""
    rng = np.random.default_rng(1)
    x = 13 + rng.random(n) * 0.5
    y = 52 + rng.random(n) * 0.5
    parts = []
    for i in range(n):
        xi, yi = x[i], y[i]
        if i % 3 == 0:
            coords = ",".join(f"[{xi + k * 0.001:.6f},{yi + (k % 2) * 0.001:.6f}]" for k in range(6))
            parts.append(f'{{"type":"Feature","properties":{{"highway":"residential","name":"S{i}"}},'
                         f'"geometry":{{"type":"LineString","coordinates":[{coords}]}}}}')  # fmt: skip
        elif i % 3 == 1:
            d = 0.0003
            ring = f"[{xi},{yi}],[{xi + d},{yi}],[{xi + d},{yi + d}],[{xi},{yi + d}],[{xi},{yi}]"
            parts.append(f'{{"type":"Feature","properties":{{"building":"yes"}},'
                         f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}')  # fmt: skip
        else:
            parts.append(f'{{"type":"Feature","properties":{{"amenity":"cafe","name":"C{i}"}},'
                         f'"geometry":{{"type":"Point","coordinates":[{xi},{yi}]}}}}')  # fmt: skip
    path.write_text('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}")


@pytest.mark.slow
def test_100k_feature_geojson_reads_quickly(tmp_path):
    path = tmp_path / "big.geojson"
    write_big_geojson(path, 100_000)
    start = time.perf_counter()
    data = read_file(path)
    elapsed = time.perf_counter() - start
    assert len(data) == 100_000
    counts = data.counts()
    assert counts[Kind.BUILDING.value] == 33_333 and counts[Kind.POI.value] == 33_333
    assert elapsed < 20, f"reading 100k features took {elapsed:.1f}s"
