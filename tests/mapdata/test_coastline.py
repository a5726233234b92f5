from __future__ import annotations

import numpy as np
import osmium
import pytest
import shapely
from shapely.geometry import LineString, Point

from app.mapdata.coastline import sea_polygons
from app.mapdata.io import read_file
from app.mapdata.model import Kind
from tests.mapdata import coast_samples as hel
from tests.mapdata.make_samples import BOUNDS, ISLAND_POINT, LAND_POINT, SEA_POINT

BOX = (0.0, 0.0, 10.0, 10.0)


def lines(*coords) -> np.ndarray:
    out = np.empty(len(coords), object)
    out[:] = [LineString(c) for c in coords]
    return out


def test_sea_is_right_of_the_coast():
    # heading east: land to the north (left), sea to the south (right)
    sea = sea_polygons(lines([(-1, 5), (4, 5.5), (11, 5)]), BOX)
    assert sea.contains(Point(5, 1)) and not sea.contains(Point(5, 9))
    below = (5.1 + 5.5) / 2 * 4 + (5.5 + 5.5 - 3 / 7) / 2 * 6  # area under the coast, x from 0 to 10
    assert sea.area == pytest.approx(below)
    # the same coast drawn the other way round puts the sea in the north
    flipped = sea_polygons(lines([(11, 5), (4, 5.5), (-1, 5)]), BOX)
    assert flipped.contains(Point(5, 9)) and not flipped.contains(Point(5, 1))


def test_coast_in_pieces_and_an_island():
    coast = lines([(-1, 5), (3, 6)], [(3, 6), (7, 4)], [(7, 4), (11, 5)])
    island = lines([(4, 1), (6, 1), (6, 3), (4, 3), (4, 1)])  # counter-clockwise: land inside
    sea = sea_polygons(np.concatenate([coast, island]), BOX)
    assert sea.contains(Point(1, 1)) and sea.contains(Point(9, 2))
    assert not sea.contains(Point(5, 2))  # on the island
    assert not sea.contains(Point(5, 9))  # on the mainland


def test_lake_like_ring_makes_sea_outside_an_island_only_map():
    # only an island in the box: everything around it is sea
    sea = sea_polygons(lines([(4, 4), (6, 4), (6, 6), (4, 6), (4, 4)]), BOX)
    assert sea.contains(Point(1, 1)) and not sea.contains(Point(5, 5))
    assert sea.area == pytest.approx(96)


def test_an_island_decides_the_sea_when_the_mainland_shore_is_off_the_map():
    coast = lines([(-5, 12), (15, 12)], [(4, 4), (6, 4), (6, 6), (4, 6), (4, 4)])
    sea = sea_polygons(coast, BOX)
    assert sea is not None and sea.area == pytest.approx(96) and not sea.contains(Point(5, 5))


def test_bay_cutting_into_the_land():
    # land is the whole box except a bay entering from the south edge
    sea = sea_polygons(lines([(4, -1), (4, 6), (6, 6), (6, -1)]), BOX)
    assert sea is not None
    assert sea.contains(Point(5, 3)) and not sea.contains(Point(1, 1)) and not sea.contains(Point(5, 8))


def test_coast_outside_the_box_decides_nothing():
    assert sea_polygons(lines([(20, 20), (30, 30)]), BOX) is None
    assert sea_polygons(np.empty(0, object), BOX) is None


def test_synthetic_harbour_file(data_dir):
    data = read_file(data_dir / "harbour.osm")
    sea = [g for g, k in zip(data.geometries, data.kinds) if k is Kind.SEA]
    assert len(sea) == 1
    sea = sea[0]
    assert sea.contains(Point(SEA_POINT))
    assert not sea.contains(Point(LAND_POINT))
    assert not sea.contains(Point(ISLAND_POINT))
    assert shapely.box(*BOUNDS).buffer(1e-9).contains(sea)  # clipped to the extract bounds
    assert data.extent == BOUNDS
    # the raw coastline ways are represented by the sea polygon, not kept as lines
    assert not any(p.get("natural") == "coastline" for p in data.props)


# --- coasts as extracts deliver them -------------------------------------------------------------------------------


def test_a_coast_cut_at_its_last_node_inside_the_box_still_cuts_it():
    # the extract tool dropped the nodes beyond the box: the shore starts and stops just inside the west and east edges
    notes = []
    sea = sea_polygons(lines([(0.2, 5), (4, 5.5), (9.8, 5)]), BOX, warnings=notes)
    assert sea is not None and sea.contains(Point(5, 1)) and not sea.contains(Point(5, 9))
    assert sea.area == pytest.approx(50, abs=3)
    assert notes == []  # a cut at the box is what extracts do: nothing to warn about


def test_pieces_that_do_not_quite_meet_are_joined():
    # three ways; the second starts a little off the first's end, the third a little off the second's
    coast = lines([(-1, 5), (3, 6)], [(3.02, 6.01), (7, 4)], [(7.01, 3.98), (11, 5)])
    notes = []
    sea = sea_polygons(coast, BOX, warnings=notes)
    assert sea.contains(Point(3, 2)) and sea.contains(Point(7, 1)) and not sea.contains(Point(5, 8))
    assert 40 < sea.area < 55 and notes == []


def test_a_missing_stretch_of_shore_is_bridged_and_told():
    # the way between x=4 and x=6 is not in the file: both ends are far from the edge and near each other
    notes = []
    sea = sea_polygons(lines([(x, 5) for x in range(-1, 5)], [(x, 5) for x in range(6, 12)]), BOX, warnings=notes)
    assert sea.area == pytest.approx(50) and sea.contains(Point(5, 4.9))
    (note,) = notes
    assert note.startswith("the coastline has 1 gap inside the map (the widest 221.8 km, at 5.0000° N 4.0000° E)")


def test_a_way_drawn_the_wrong_way_round_is_turned_to_run_with_its_shore():
    notes = []
    coast = lines([(-1, 5), (3, 6)], [(7, 4), (3, 6)], [(7, 4), (11, 5)])  # the middle way runs east to west
    sea = sea_polygons(coast, BOX, warnings=notes)
    assert sea.contains(Point(5, 2)) and sea.contains(Point(5, 4.5)) and not sea.contains(Point(5, 8))
    assert notes == [TURNED_ONE]


def test_a_shore_that_stops_far_inside_the_map_is_finished_and_warned_about():
    notes = []
    # nodes every unit: an extract tool would not have cut it half a box short of the edge
    sea = sea_polygons(lines([(x, 5) for x in range(-1, 6)]), BOX, warnings=notes)
    assert sea is not None and sea.contains(Point(2, 2)) and not sea.contains(Point(2, 8))
    (note,) = notes
    assert note.startswith("1 coastline end stops well inside the map") and "may be off" in note


def test_a_shore_that_stops_with_its_back_to_the_nearest_edge_goes_on_ahead():
    # it ends 2 from the west edge, heading east: the shore is carried east, not back over itself
    notes = []
    sea = sea_polygons(lines([(x, 5) for x in (-1, 0, 1, 2)]), BOX, warnings=notes)
    assert sea is not None and sea.contains(Point(8, 2)) and not sea.contains(Point(8, 8))
    assert sea.area == pytest.approx(50)
    assert len(notes) == 1 and "well inside the map" in notes[0]


def test_shores_that_disagree_leave_that_part_undecided_and_say_so():
    # both shores head east: the upper one says the strip between them is sea, the lower one says it is land
    notes = []
    sea = sea_polygons(lines([(-1, 5), (11, 5)], [(-1, 3), (11, 3)]), BOX, warnings=notes)
    assert sea.contains(Point(5, 1)) and not sea.contains(Point(5, 4)) and not sea.contains(Point(5, 8))
    (note,) = notes
    assert note == (
        "the coastline ways disagree about which side is land in 20% of the map; that part is not drawn as sea"
    )


def test_a_coast_that_decides_nothing_is_not_guessed():
    # the same shore drawn both ways round: every face has as much land as sea on it
    notes = []
    assert sea_polygons(lines([(-1, 5), (11, 5)], [(11, 5), (-1, 5)]), BOX, warnings=notes) is None
    assert notes == ["the coastline ways disagree about which side is land; drawing the coastline only"]


def _sea_of(path):
    data = read_file(path)
    sea = [g for g, k in zip(data.geometries, data.kinds) if k is Kind.SEA]
    return data, (sea[0] if sea else None)


CUTS = ["none", "refs", "trim"]
TURNED_ONE = (
    "1 coastline way ran against the rest of its shore and was turned round (OSM draws the land on a coastline's left)"
)


@pytest.mark.parametrize("bounds", [True, False], ids=["bounds", "no-bounds"])
@pytest.mark.parametrize("cut", CUTS)
def test_helsinki_like_extract_has_its_bay(tmp_path, cut, bounds):
    data, sea = _sea_of(hel.write_helsinki(tmp_path / "helsinki.osm", cut=cut, bounds=bounds))
    assert sea is not None, data.warnings
    for p in hel.SEA_POINTS:
        assert sea.contains(Point(p)), p
    for p in hel.LAND_POINTS:
        assert not sea.contains(Point(p)), p
    assert not [w for w in data.warnings if "coastline" in w or "OSM ways" in w]
    assert shapely.box(*data.extent).buffer(1e-9).contains(sea)
    # the sea is the design's sea, to within the shore's wobble and the island cut by the edge
    frame = shapely.box(*hel.BOUNDS).intersection(shapely.box(*data.extent))
    want = frame.difference(hel.land_polygon())
    assert shapely.symmetric_difference(sea.intersection(frame), want).area < 0.01 * frame.area
    if bounds:
        assert data.extent == hel.BOUNDS


@pytest.mark.parametrize("cut", CUTS)
def test_helsinki_like_extract_drawn_the_other_way_round_swaps_land_and_sea(tmp_path, cut):
    data, sea = _sea_of(hel.write_helsinki(tmp_path / "reversed.osm", cut=cut, reverse=True))
    assert sea is not None
    assert not [w for w in data.warnings if "coastline" in w]  # consistently reversed: nothing to turn round
    assert not any(sea.contains(Point(p)) for p in hel.SEA_POINTS)
    assert all(sea.contains(Point(p)) for p in hel.LAND_POINTS)


def test_a_shore_through_one_point_twice_gives_a_valid_sea():
    sea = sea_polygons(lines([(2, 10), (8, 1), (2, 6), (8, 9), (2, 6), (5, 3), (1, 7)], [(3, 0), (-1, 0)]), BOX)
    assert sea is not None and sea.is_valid


def test_random_scribbles_give_a_valid_sea_inside_the_box_or_none():
    rng = np.random.default_rng(7)
    frame = shapely.box(*BOX).buffer(1e-9)
    for _ in range(300):
        shapes = []
        for _ in range(rng.integers(1, 6)):
            c = rng.uniform(-2, 12, (rng.integers(2, 8), 2))
            if rng.random() < 0.3:
                c = np.round(c)  # repeated and collinear nodes
            if rng.random() < 0.3:
                c = np.vstack([c, c[:1]])  # a ring
            shapes.append(c)
        sea = sea_polygons(lines(*shapes), BOX, warnings=[])
        if sea is not None:
            assert sea.is_valid and frame.contains(sea) and shapely.get_type_id(sea) in (3, 6)


@pytest.mark.parametrize("way", [0, 1, 3])
def test_helsinki_like_extract_with_one_misdrawn_way_keeps_its_bay(tmp_path, way):
    data, sea = _sea_of(hel.write_helsinki(tmp_path / "misdrawn.osm", cut="trim", misdrawn=way))
    assert all(sea.contains(Point(p)) for p in hel.SEA_POINTS)
    assert not any(sea.contains(Point(p)) for p in hel.LAND_POINTS)
    assert [w for w in data.warnings if "coastline" in w] == [TURNED_ONE]


def test_helsinki_like_pbf_cut_by_osmium_simple_has_its_bay(tmp_path):
    # what `osmium extract -s simple` writes: ways keep their references to the nodes it left out
    src = hel.write_helsinki(tmp_path / "helsinki.osm", cut="refs")
    pbf = tmp_path / "helsinki.osm.pbf"
    header = osmium.io.Header()
    header.add_box(osmium.osm.Box(osmium.osm.Location(*hel.BOUNDS[:2]), osmium.osm.Location(*hel.BOUNDS[2:])))
    writer = osmium.SimpleWriter(str(pbf), header=header)
    for obj in osmium.FileProcessor(str(src)):
        (writer.add_node if obj.is_node() else writer.add_way)(obj)
    writer.close()
    data, sea = _sea_of(pbf)
    assert data.extent == hel.BOUNDS and not data.warnings
    assert all(sea.contains(Point(p)) for p in hel.SEA_POINTS)
    assert not any(sea.contains(Point(p)) for p in hel.LAND_POINTS)
