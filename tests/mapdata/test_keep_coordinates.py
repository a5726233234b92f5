"""Nothing is dropped that can be kept: rounding just past ±180°, rings crossing the antimeridian; what
must go is named.

The world is our own Natural-Earth-like file: a few countries as boxes, and a Russia whose eastern
coast sits at 180.00000000000006 (as in Natural Earth 110m) with a Chukotka ring that crosses 180°.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyogrio import raw as ogr_raw

from app.jobs.render import RenderRequest, render
from app.mapdata.io import read_file
from app.mapdata.model import Kind

EDGE = 180.00000000000006  # a longitude as Natural Earth writes it


def _russia() -> shapely.MultiPolygon:
    main = shapely.Polygon(
        [(30, 50), (60, 48), (100, 45), (135, 43), (160, 55), (EDGE, 62), (EDGE, 70), (150, 76), (100, 78),
         (60, 72), (30, 70), (30, 50)]
    )  # fmt: skip
    # Chukotka: one ring that goes 175 → -170 → back, i.e. across the antimeridian (not split at 180)
    chukotka = shapely.Polygon([(172, 64), (-172, 64), (-170, 67), (-178, 71), (175, 70), (172, 64)])
    return shapely.MultiPolygon([main, chukotka])


def world_features(with_russia: bool = True, extra: list | None = None) -> list[tuple[str, shapely.Geometry]]:
    out = [
        ("France", shapely.box(-4, 43, 7, 50)),
        ("Nigeria", shapely.box(3, 4, 14, 13)),
        ("Brazil", shapely.Polygon([(-73, -10), (-50, 5), (-35, -7), (-48, -30), (-70, -20)])),
        ("Canada", shapely.box(-140, 49, -60, 70)),
        ("Australia", shapely.box(114, -38, 153, -12)),
        ("China", shapely.box(75, 22, 130, 42)),
    ]
    if with_russia:
        out.insert(1, ("Russia", _russia()))
    return out + (extra or [])


def write_world_shp(path, features) -> None:
    ogr_raw.write(
        str(path),
        geometry=shapely.to_wkb(np.array([shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g
                                          for _, g in features], object)),
        field_data=[np.array([n for n, _ in features], object), np.array([n[:3].upper() for n, _ in features], object)],
        fields=["ADMIN", "ISO_A3"],
        driver="ESRI Shapefile",
        geometry_type="MultiPolygon",
        crs="EPSG:4326",
        encoding="UTF-8",
    )  # fmt: skip


def write_world_geojson(path, features) -> None:
    props = [{"ADMIN": n, "ISO_A3": n[:3].upper()} for n, _ in features]
    geoms = [shapely.geometry.mapping(g) for _, g in features]
    feats = [{"type": "Feature", "properties": p, "geometry": g} for p, g in zip(props, geoms)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


@pytest.fixture(params=["shp", "geojson"])
def world(request, tmp_path):
    def make(name: str = "world", **kw):
        path = tmp_path / f"{name}.{request.param}"
        (write_world_shp if request.param == "shp" else write_world_geojson)(path, world_features(**kw))
        return path

    return make


def test_natural_earth_russia_is_kept_whole(world):
    data = read_file(world())
    names = list(data.names)
    assert "Russia" in names and data.sources[0].dropped == 0
    assert not [w for w in data.warnings if "dropped" in w]
    russia = data.geometries[names.index("Russia")]
    x0, y0, x1, y1 = shapely.bounds(russia)
    assert (x0, x1) == (-180.0, 180.0) and y0 == 43 and y1 == 78  # Chukotka on both sides, clamped to 180
    assert shapely.is_valid(russia)
    # the crossing ring became pieces meeting at ±180°, with the ring's own area (not a world-wide band)
    main, _ = _russia().geoms
    chukotka = shapely.Polygon([(172, 64), (188, 64), (190, 67), (182, 71), (175, 70)])  # unwrapped
    assert russia.area == pytest.approx(shapely.union(main, chukotka).area, rel=1e-6)
    west = shapely.intersection(russia, shapely.box(-180, -90, 0, 90))
    assert west.area == pytest.approx(shapely.intersection(chukotka, shapely.box(180, -90, 360, 90)).area, rel=1e-6)


def test_lines_crossing_the_antimeridian_are_split_and_kept(tmp_path):
    track = {"type": "LineString", "coordinates": [[179.5, -17.0], [179.9, -16.9], [-179.9, -16.8], [-179.4, -16.7]]}
    unwrapped = {"type": "LineString", "coordinates": [[178.0, -18.0], [181.5, -18.2]]}  # written past 180
    feats = [{"type": "Feature", "properties": {"name": n}, "geometry": g} for n, g in
             (("ferry", track), ("cable", unwrapped))]  # fmt: skip
    path = tmp_path / "fiji.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    data = read_file(path)
    assert list(data.names) == ["ferry", "cable"] and not data.warnings
    for g in data.geometries:
        b = shapely.bounds(g)
        assert b[0] == -180.0 and b[2] == 180.0  # pieces on both sides, none spanning the globe
        assert shapely.length(g) < 5.0
    assert shapely.length(data.geometries[1]) == pytest.approx(np.hypot(3.5, 0.2), rel=1e-6)


def test_a_really_bad_coordinate_names_the_feature(world):
    atlantis = shapely.Polygon([(200.5, 30), (202, 30), (202, 32)])  # no longitude in range: garbage, not a crossing
    data = read_file(world(extra=[("Atlantis", atlantis)]))
    assert "Atlantis" not in list(data.names) and "Russia" in list(data.names)
    (w,) = [w for w in data.warnings if "dropped" in w]
    suffix = data.sources[0].path.rsplit(".", 1)[1]
    assert w == f"world.{suffix}: dropped 'Atlantis' (feature 8): longitude 200.5 out of range"


def test_many_bad_features_are_capped_with_a_count(tmp_path):
    bad = [(f"Isle {i}", shapely.box(300 + i, 0, 301 + i, 1)) for i in range(8)]
    path = tmp_path / "isles.geojson"
    write_world_geojson(path, [("France", shapely.box(-4, 43, 7, 50)), *bad])
    (w,) = [w for w in read_file(path).warnings if "dropped" in w]
    assert w.startswith("isles.geojson: dropped 8 features that cannot be drawn: 'Isle 0' (feature 2): longitude 301 ")
    assert w.count("'Isle") == 5 and w.endswith("; and 3 more")


def test_antarctica_drawn_from_minus_180_to_180_is_left_as_it_is(tmp_path):
    ant = shapely.Polygon([(-180, -90), (-180, -70), (-90, -72), (0, -69), (90, -66), (180, -70), (180, -90)])
    path = tmp_path / "south.geojson"
    write_world_geojson(path, [("Antarctica", ant), ("Chile", shapely.box(-75, -55, -67, -18))])
    data = read_file(path)
    assert data.geometries[0].equals(ant) and not data.warnings


def test_the_world_render_shows_russia(world):
    """Render with and without Russia, same framing and seed: its pixels differ, in Siberia."""
    path, without = world(), world("world_without", with_russia=False)
    req = RenderRequest([path], style="parchment", size=(640, 360), seed=3, labels=False)
    a = render(req)
    req_b = RenderRequest([without], style="parchment", size=(640, 360), seed=3, labels=False)
    # the same framing: frame the file without Russia on Russia's bounds by adding Russia as a hidden layer
    b_data = read_file(without)
    b_data.extent = a.data.frame_bounds()
    b = render(req_b, data=b_data)
    assert a.scene.frame.lonlat_bounds == pytest.approx(b.scene.frame.lonlat_bounds)
    from app.carto.framing import lonlat_to_px

    # Siberia, Chukotka east and west of 180°; then the mid-Atlantic, which must not change
    col, row = lonlat_to_px(a.scene.frame, np.array([100.0, 178.0, -175.0, -30.0]), np.array([65.0, 67.0, 66.0, 0.0]))

    def colour_change(c: int, r: int) -> float:  # the mean colour of an 11×11 patch, moved how far (RGB levels)
        patch = lambda img: img[r - 5 : r + 6, c - 5 : c + 6].reshape(-1, 3).mean(axis=0)  # noqa: E731
        return float(np.linalg.norm(patch(a.image) - patch(b.image)))

    changes = [colour_change(int(c), int(r)) for c, r in zip(col, row)]
    assert min(changes[:3]) > 4.0 and changes[3] < 1.0, changes
    assert not [w for w in a.warnings if "dropped" in w]


def test_an_island_across_180_is_drawn_whole_without_a_seam(tmp_path):
    """Split at ±180° when read, joined again on a map centred near 180° (Fiji): one outline, no line through it."""
    ring = [(179.2, -16.2), (-179.6, -16.4), (-179.8, -17.2), (179.6, -17.4), (179.3, -16.9), (179.2, -16.2)]
    path = tmp_path / "fiji.geojson"
    write_world_geojson(path, [("Fiji", shapely.Polygon(ring))])
    res = render(RenderRequest([path], style="ink", size=(480, 360), seed=1, labels=False))
    assert res.data.geometries[0].geom_type == "MultiPolygon"  # in lon/lat: two pieces, each in range
    (island,) = res.scene.geometries[res.scene.kinds == Kind.ADMIN]
    assert island.geom_type == "Polygon" and len(island.interiors) == 0
    from app.carto.framing import lonlat_to_px

    col, row = lonlat_to_px(res.scene.frame, np.full(9, 180.0), np.linspace(-16.5, -17.1, 9))
    assert res.layers.lineart[row.astype(int), col.astype(int)].max() == 0  # no outline along the meridian
