import dataclasses

import numpy as np
import pytest

from app.errors import Cancelled, InputError
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress
from app.mapdata.model import Kind
from app.styles.catalog import get_style, load_styles
from app.styles.model import EffectSpec
from app.styles.painter import paint

STYLES = sorted(load_styles())


@pytest.fixture(scope="module")
def paintings(town):
    return {name: paint(town, get_style(name), seed=7) for name in STYLES}


@pytest.mark.parametrize("name", STYLES)
def test_every_style_paints_the_right_shape(paintings, town, name):
    img = paintings[name]
    assert img.shape == (town.height, town.width, 3)
    assert img.dtype == np.uint8
    assert img.std() > 8  # a map, not a flat sheet


@pytest.mark.parametrize("name", STYLES)
def test_same_seed_same_bytes_other_seed_differs(paintings, town, name):
    again = paint(town, get_style(name), seed=7)
    assert again.tobytes() == paintings[name].tobytes()
    other = paint(town, get_style(name), seed=8)
    assert other.tobytes() != again.tobytes()


def test_styles_look_distinct(paintings):
    means = {n: img.reshape(-1, 3).mean(axis=0) for n, img in paintings.items()}
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (
                np.abs(means[a] - means[b]).max() > 3
                or np.abs(paintings[a].astype(int) - paintings[b].astype(int)).mean() > 10
            ), (a, b)


def test_blueprint_paper_is_blue(paintings, town):
    img = paintings["blueprint"].astype(int)
    paper = town.mask(Kind.SEA) == 0
    r, g, b = (img[..., c][paper].mean() for c in range(3))
    assert b > r + 60 and b > g + 20


def test_watercolor_water_is_blue_with_soft_edges(paintings, town):
    img = paintings["watercolor"].astype(int)
    sea = town.mask(Kind.SEA) > 250
    r, _, b = (img[..., c][sea].mean() for c in range(3))
    assert b > r + 25
    # Across the coast the colour changes over several pixels, not in one step.
    row = img[town.height // 2, :, 2]
    x = int(np.flatnonzero(town.mask(Kind.SEA)[town.height // 2] > 127)[0])
    ramp = row[x - 6 : x + 6]
    assert len(np.unique(ramp)) > 4


def test_ink_is_nearly_monochrome(paintings):
    img = paintings["ink"].astype(int)
    chroma = img.max(axis=2) - img.min(axis=2)
    assert np.percentile(chroma, 95) < 40


def test_poster_roads_are_heavy_colour(paintings, town):
    img = paintings["poster"].astype(int)
    road = town.mask(Kind.PRIMARY) > 250
    assert img[..., 0][road].mean() > img[..., 2][road].mean() + 80  # red-orange main roads


def test_fantasy_ripples_follow_the_coast_offshore(town):
    style = get_style("fantasy")
    plain = dataclasses.replace(style, effects=tuple(e for e in style.effects if e.name != "ripples"))
    diff = np.abs(paint(town, style, seed=3).astype(int) - paint(town, plain, seed=3).astype(int)).sum(axis=2)
    sea = town.mask(Kind.SEA)
    row = town.height // 2
    x = int(np.flatnonzero(sea[row] > 127)[0])
    assert diff[row, x + 1 : x + 15].max() > 10  # lines just offshore
    assert diff[row, x - 20 : x - 2].max() == 0  # nothing on land
    assert diff[row, -20:].max() == 0  # nothing far out at sea


def test_progress_and_cancel(town):
    events = []
    paint(town, get_style("ink"), progress=Progress(events.append, hz=0))
    assert events[0].step == 0 and events[-1].step == events[-1].total
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        paint(town, get_style("ink"), cancel=token)


def test_unknown_effect_in_a_hand_built_style_is_an_input_error(town):
    style = get_style("ink")
    broken = dataclasses.replace(style, effects=(EffectSpec("sparkle"),))
    with pytest.raises(InputError, match="sparkle"):
        paint(town, broken)


def test_noise_scales_with_the_image():
    from tests.styles.styles_synth import synthetic_layers

    small = paint(synthetic_layers(256, 192), get_style("watercolor"), seed=1)
    big = paint(synthetic_layers(768, 576), get_style("watercolor"), seed=1)
    shrunk = big.reshape(192, 3, 256, 3, 3).mean(axis=(1, 3))
    # Same composition at both sizes: mean colours per quadrant agree closely.
    for ys in (slice(0, 96), slice(96, 192)):
        for xs in (slice(0, 128), slice(128, 256)):
            assert np.abs(small[ys, xs].reshape(-1, 3).mean(0) - shrunk[ys, xs].reshape(-1, 3).mean(0)).max() < 12


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (64, 48)])
def test_every_style_paints_empty_and_tiny_layers(size):
    from app.render.layers import Layers
    from tests.styles.styles_synth import synthetic_layers

    w, h = size
    empty = Layers(w, h, {}, np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8))
    tiny = synthetic_layers(max(w, 8), max(h, 6))
    for name in STYLES:
        assert paint(empty, get_style(name)).shape == (h, w, 3)
        assert paint(tiny, get_style(name)).shape == (tiny.height, tiny.width, 3)
