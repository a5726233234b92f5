import numpy as np
import shapely

from app.render.tones import colour_classes, neighbours, tone_classes


def _grid(cols: int, rows: int, size: float = 40.0) -> np.ndarray:
    return np.array(
        [shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size) for r in range(rows) for c in range(cols)],
        object,
    )


def test_touching_areas_get_different_classes():
    cells = _grid(5, 4)
    pairs = neighbours(cells)
    assert len(pairs) == 5 * 3 + 4 * 4 + 2 * 4 * 3  # side by side, one above the other, and corner to corner
    cls = colour_classes(len(cells), pairs)
    assert cls.min() >= 1 and all(cls[a] != cls[b] for a, b in pairs)


def test_shared_edges_a_little_apart_still_touch():
    a, b = shapely.box(0, 0, 10, 10), shapely.box(10.6, 0, 20, 10)  # simplified apart by 0.6 px
    assert neighbours(np.array([a, b], object)).tolist() == [[0, 1]]
    far = shapely.box(13, 0, 20, 10)
    assert neighbours(np.array([a, far], object)).tolist() == []


def test_a_wheel_needs_and_gets_more_classes():
    """A hub touched by an odd ring of spokes cannot be coloured with three classes: greedy finds four."""
    hub = shapely.Point(0, 0).buffer(10)
    ring = shapely.Point(0, 0).buffer(30).difference(hub)
    step = 2 * np.pi / 5

    def wedge(t: float) -> shapely.Polygon:
        u = t + step
        return shapely.Polygon([(0, 0), (60 * np.cos(t), 60 * np.sin(t)), (60 * np.cos(u), 60 * np.sin(u))])

    spokes = [shapely.intersection(ring, wedge(t)) for t in np.arange(5) * step]
    areas = np.array([hub, *spokes], object)
    pairs = neighbours(areas, distance=0.01)
    cls = colour_classes(len(areas), pairs)
    assert all(cls[a] != cls[b] for a, b in pairs) and len(set(cls.tolist())) == 4


def test_tone_raster_marks_each_area_with_its_class():
    cells = _grid(3, 2)
    tones = tone_classes(np.append(cells, shapely.LineString([(0, 0), (5, 5)])), 120, 80)
    assert tones.shape == (80, 120) and tones.dtype == np.uint8
    centres = [tones[int(c.centroid.y), int(c.centroid.x)] for c in cells]
    assert min(centres) >= 1
    assert centres[0] != centres[1] and centres[0] != centres[3]  # right and below
    assert tone_classes(np.array([shapely.LineString([(0, 0), (5, 5)])], object), 10, 10) is None
