import numpy as np

from app.inference.fidelity import edge_f1, edges


def _lines():
    img = np.full((96, 96, 3), 255, np.uint8)
    img[20, 5:90] = 0
    img[5:90, 40] = 0
    img[70, 10:80] = 0
    return img


def test_identical_is_perfect():
    assert edge_f1(_lines(), _lines()) == 1.0


def test_blank_output_scores_zero():
    assert edge_f1(np.full((96, 96, 3), 200, np.uint8), _lines()) == 0.0
    assert not edges(np.zeros((10, 10))).any()


def test_one_pixel_shift_is_within_tolerance():
    shifted = np.roll(_lines(), 1, axis=1)
    assert edge_f1(shifted, _lines()) > 0.9


def test_painted_lines_in_other_colours_still_match():
    painted = np.full((96, 96, 3), (230, 220, 190), np.uint8)
    mask = _lines()[..., 0] == 0
    painted[mask] = (40, 70, 120)
    assert edge_f1(painted, _lines()) > 0.9


def test_unrelated_noise_scores_low():
    noise = (np.random.default_rng(0).random((96, 96, 3)) * 255).astype(np.uint8)
    assert edge_f1(noise, _lines()) < 0.35


def test_different_sizes_are_compared_at_the_structure_size():
    big = np.repeat(np.repeat(_lines(), 2, axis=0), 2, axis=1)
    assert edge_f1(big, _lines()) > 0.8
