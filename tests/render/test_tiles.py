"""Tiles for upscaling (app/render/tiles.py): the grid covers the picture, seams are feathered away."""

import itertools
import tracemalloc

import numpy as np
import pytest

from app.render import tiles as tl


@pytest.mark.parametrize("size", [(1024, 1024), (3508, 4961), (1000, 517), (300, 2000), (512, 512), (77, 45)])
@pytest.mark.parametrize("tile,overlap", [(512, 64), (1024, 128), (256, 32)])
def test_grid_covers_overlaps_and_is_flush_with_the_edges(size, tile, overlap):
    grid = tl.plan_grid(size, tile, overlap)
    w, h = size
    cover = np.zeros((h, w), np.int32)
    for t in grid.tiles:
        cover[t.y0 : t.y1, t.x0 : t.x1] += 1
        mw, mh = t.model_size
        assert mw % 16 == 0 and mh % 16 == 0 and mw >= t.size[0] and mh >= t.size[1]
        assert t.size[0] == min(w, tile) and t.size[1] == min(h, tile)  # edge tiles are full tiles, not slivers
    assert cover.min() >= 1  # every pixel
    for side, length in ((grid.xs, w), (grid.ys, h)):
        assert side[0][0] == 0 and side[-1][1] == length
        for (_, e), (s, _) in itertools.pairwise(side):
            assert e - s >= overlap  # neighbours overlap by at least the overlap asked for
    assert grid.cols == (1 if w <= tile else -(-(w - overlap) // (tile - overlap)))  # as few tiles as that allows
    assert grid.count == grid.rows * grid.cols == len(grid.tiles)


def test_grid_sizes_and_record():
    grid = tl.plan_grid((3508, 4961), 1024, 128)  # A3 at 300 dpi
    assert (grid.rows, grid.cols) == (6, 4)
    assert grid.record() == {"rows": 6, "cols": 4, "tile": [1024, 1024], "overlap": 128}
    assert tl.plan_grid((1000, 1000), 500).tile == 496  # a multiple of 16
    assert tl.plan_grid((512, 512), 512).count == 1


def test_weights_add_up_to_one_everywhere():
    grid = tl.plan_grid((1000, 700), 256, 40)
    for side, length in ((grid.xs, grid.width), (grid.ys, grid.height)):
        total = np.zeros(length)
        for (s, e), w in zip(side, tl.axis_weights(side, length), strict=True):
            assert w.min() > 0 and w.max() <= 1.0
            total[s:e] += w
        assert np.allclose(total, 1.0, atol=1e-6)


def test_a_constant_picture_stays_constant():
    grid = tl.plan_grid((700, 530), 256, 48)
    out = tl.blend_tiles(grid, [np.full((t.size[1], t.size[0], 3), 137, np.uint8) for t in grid.tiles])
    assert (out == 137).all()


def _smooth_picture(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([120 + 100 * np.sin(x / 37.0), 120 + 100 * np.cos(y / 23.0), (x + y) / (w + h) * 255], -1)
    return img


def test_no_discontinuity_at_tile_borders():
    """Each tile a differently tinted copy of one smooth picture (as tiles painted apart differ): the blend
    has no step at any tile edge, while pasting the tiles without feathering does."""
    w, h = 900, 640
    picture = _smooth_picture(w, h)
    grid = tl.plan_grid((w, h), 256, 64)
    rng = np.random.default_rng(0)
    tiles = [np.clip(t.crop(picture) + rng.uniform(-25, 25), 0, 255).astype(np.uint8) for t in grid.tiles]
    out = tl.blend_tiles(grid, tiles).astype(np.float32)
    pasted = np.zeros_like(picture)
    for t, px in zip(grid.tiles, tiles, strict=True):
        pasted[t.y0 : t.y1, t.x0 : t.x1] = px

    def worst_step(img, edges_x, edges_y):
        dx = np.abs(np.diff(img, axis=1)).max(axis=(0, 2))
        dy = np.abs(np.diff(img, axis=0)).max(axis=(1, 2))
        return max(dx[[e - 1 for e in edges_x]].max(), dy[[e - 1 for e in edges_y]].max())

    edges_x = sorted({x for s, e in grid.xs for x in (s, e) if 0 < x < w})
    edges_y = sorted({y for s, e in grid.ys for y in (s, e) if 0 < y < h})
    natural = max(np.abs(np.diff(picture, axis=1)).max(), np.abs(np.diff(picture, axis=0)).max())
    assert worst_step(pasted, edges_x, edges_y) > 15  # the tints show as seams without feathering
    assert worst_step(out, edges_x, edges_y) <= natural + 3  # with it, no step beyond the picture's own
    # and nowhere in the picture a step larger than the picture's own slope and the ramps' tint change
    assert np.abs(np.diff(out, axis=1)).max() <= natural + 3


def test_blender_holds_one_row_of_tiles_not_the_picture():
    w, h = 1024, 4096
    grid = tl.plan_grid((w, h), 256, 32)
    tile = np.full((256, 256, 3), 90, np.uint8)
    tracemalloc.start()
    try:
        blender = tl.Blender(grid)
        for t in grid.tiles:
            blender.add(t, tile)
        out = blender.result()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (out == 90).all()
    full_float = w * h * 3 * 4
    assert blender.band_bytes == 256 * w * 3 * 4
    assert peak < w * h * 3 + 4 * blender.band_bytes < w * h * 3 + full_float / 3  # the picture, two bands


def test_tiles_must_come_row_by_row():
    grid = tl.plan_grid((600, 600), 256, 32)
    blender = tl.Blender(grid)
    last = grid.tiles[-1]
    blender.add(last, np.zeros((256, 256, 3), np.uint8))
    with pytest.raises(ValueError, match="row by row"):
        blender.add(grid.tiles[0], np.zeros((256, 256, 3), np.uint8))


def test_guide_tile_adds_the_paintings_fine_detail():
    rng = np.random.default_rng(1)
    painting = np.full((128, 128, 3), 220, np.uint8)
    painting[:, 60:62] = 20  # a thin road the AI picture, painted 4x smaller, lost
    ai = np.full((128, 128, 3), 200, np.uint8) + rng.integers(0, 3, (128, 128, 3)).astype(np.uint8)
    guided = tl.guide_tile(ai, painting, scale=4.0).astype(np.float32)
    road, beside = guided[:, 60:62].mean(), guided[:, 20:40].mean()
    assert beside - road > 100  # the road is back, dark
    assert abs(beside - (0.8 * 201 + 0.2 * 220)) < 6  # elsewhere the AI picture's colour, a fifth of the painting's
    plain = tl.guide_tile(ai, painting, scale=1.0, mix=0.0)
    assert np.abs(plain.astype(int) - ai).max() <= 1  # no enlargement: no detail to add
