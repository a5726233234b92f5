"""Repaint masks (issue 16): reading one, scaling it to the picture, the feathered edge and the exact blend."""

import numpy as np
import pytest
from PIL import Image

from app.errors import InputError
from app.jobs import repaint as rp
from app.jobs.reference import dilate


def _rect(w, h, box):
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def test_white_is_repainted_and_transparent_is_kept(tmp_path):
    grey = np.zeros((30, 40), np.uint8)
    grey[5:15, 10:20] = 255
    grey[20:25, 0:5] = 100  # dark grey: kept
    Image.fromarray(grey).save(tmp_path / "m.png")
    mask = rp.load_mask(tmp_path / "m.png")
    assert mask.shape == (30, 40) and mask.sum() == 100 and mask[5:15, 10:20].all()

    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere, but only the square is opaque
    rgba[0:10, 0:10, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert rp.load_mask(tmp_path / "a.png").sum() == 100


@pytest.mark.parametrize(
    ("make", "words"),
    [(None, "does not exist"), ("dir", "not a file"), ("text", "not an image"), ("blank", "blank (no white")],
)
def test_a_bad_mask_is_one_line_naming_the_file(tmp_path, make, words):
    path = tmp_path / "mask.png"
    if make == "dir":
        path.mkdir()
    elif make == "text":
        path.write_text("not a picture")
    elif make == "blank":
        Image.new("L", (20, 20), 0).save(path)
    with pytest.raises(InputError) as err:
        rp.load_mask(path)
    line = err.value.one_line()
    assert words in line and "mask.png" in line and "\n" not in line


def test_a_mask_drawn_on_a_print_size_picture_opens_past_pillows_bomb_limit(tmp_path):
    """A mask of a 16384-px print is over Pillow's 179-megapixel decompression-bomb limit: MapBrush's own PNG cap
    (16384 a side) applies instead; a larger PNG is refused in one line."""
    from app.export.pngencode import write_png_stream

    w, h = 14_000, 13_000  # 182 Mpx
    assert w * h > Image.MAX_IMAGE_PIXELS
    grey = np.zeros((h, w), np.uint8)
    grey[6000:7000, 5000:9000] = 255
    with open(tmp_path / "mask.png", "wb") as f:
        write_png_stream(f, grey)
    del grey
    mask = rp.load_mask(tmp_path / "mask.png")
    assert mask.shape == (h, w) and mask.sum() == 1000 * 4000 and mask[6500, 7000]
    del mask
    with open(tmp_path / "huge.png", "wb") as f:
        write_png_stream(f, np.zeros((2, 16_385), np.uint8))
    with pytest.raises(InputError) as err:
        rp.load_mask(tmp_path / "huge.png")
    assert "too large" in err.value.one_line() and "huge.png" in err.value.one_line()


def test_a_mask_of_any_size_covers_the_same_part_of_the_picture():
    box = (40, 32, 120, 88)  # the middle of the picture
    want = _rect(160, 120, box)
    for w, h in ((40, 30), (320, 240), (1600, 1200)):  # smaller, larger, much larger, same shape
        k = w / 160
        got = rp.scale_mask(_rect(w, h, tuple(int(v * k) for v in box)), (160, 120))
        assert got.shape == (120, 160)
        assert (got != want).sum() <= 4, (w, h)  # at most the four corner pixels, rounded off when enlarged
    # a stage size rounded to multiples of 16 (1184x880 for 2400x1800): each axis scaled on its own
    stage = rp.scale_mask(_rect(2400, 1800, (600, 450, 1800, 1350)), (1184, 880))
    ys, xs = np.nonzero(stage)
    assert abs(xs.min() - 296) <= 1 and abs(xs.max() + 1 - 888) <= 1
    assert abs(ys.min() - 220) <= 1 and abs(ys.max() + 1 - 660) <= 1


def test_a_mask_of_another_shape_is_stretched_with_a_warning():
    notes = []
    got = rp.scale_mask(_rect(100, 100, (0, 0, 50, 100)), (160, 120), warnings=notes)
    assert got[:, :78].all() and not got[:, 82:].any()  # the left half of the picture
    assert len(notes) == 1 and "100x100" in notes[0] and "stretched" in notes[0]
    notes.clear()
    rp.scale_mask(_rect(80, 60, (0, 0, 10, 10)), (160, 120), warnings=notes)
    assert notes == []


@pytest.mark.parametrize("feather", [2, 6, 12])
def test_the_feather_ramps_down_outside_the_mask_and_stops_at_its_width(feather):
    mask = _rect(120, 90, (40, 30, 80, 60))
    alpha = rp.feather_alpha(mask, feather)
    assert (alpha[mask] == 1.0).all()
    beyond = ~dilate(mask, feather)
    assert (alpha[beyond] == 0.0).all()
    ring = ~mask & ~beyond
    assert (alpha[ring] > 0).mean() > 0.5 and (alpha[ring] < 1).all()
    row = alpha[45, 80 : 80 + feather + 1]  # from the mask's right edge outwards: never rising
    assert (np.diff(row) <= 1e-6).all() and row[0] > row[-1]


def test_blend_keeps_every_pixel_where_the_weight_is_zero():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    painted = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    alpha = rp.feather_alpha(_rect(50, 40, (10, 10, 30, 30)), 4)
    out = rp.blend(base, painted, alpha)
    assert np.array_equal(out[alpha == 0], base[alpha == 0])
    assert np.array_equal(out[alpha == 1], painted[alpha == 1])
    mid = (alpha > 0) & (alpha < 1)
    lo, hi = np.minimum(base, painted), np.maximum(base, painted)
    assert ((out[mid] >= lo[mid]) & (out[mid] <= hi[mid])).all()


def test_the_request_is_the_one_the_picture_was_made_with():
    meta = {"app": "mapbrush", "style": "ink", "seed": 7, "size": [320, 240], "margin": 0.1, "rotation": 15.0,
            "title": "Salthaven", "title_mode": "custom", "subtitle": "x", "subtitle_mode": "none",
            "kinds": ["water", "park"], "labels": False, "scale_bar": False, "frame": 2}  # fmt: skip
    req = rp.request_from_metadata(meta, [], (320, 240))
    assert (req.style, req.seed, req.size, req.margin, req.rotation) == ("ink", 7, (320, 240), 0.1, 15.0)
    assert (req.title, req.subtitle) == ("Salthaven", "")
    assert (req.labels, req.scale_bar, req.north_arrow) == (False, False, True)
    assert {k.value for k in req.kinds} == {"water", "park"} and req.frame == 2
    default = rp.request_from_metadata({"title_mode": "default", "subtitle_mode": "default"}, [], (100, 80))
    assert default.title is None and default.subtitle is None and default.kinds is None


def test_the_default_feather_grows_with_the_picture():
    assert rp.feather_for((160, 120)) == 2
    assert rp.feather_for((1024, 768)) == 8
    assert rp.feather_for((2400, 1800)) == 18
