"""Formats with a size limit of their own under MapBrush's 16384 px: WebP holds 16383 px a side at most."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.errors import InputError
from app.export.formats import check_size
from app.jobs.render import MAX_SIDE, RenderRequest, render_to_file


def test_webp_itself_stops_at_16383():
    Image.new("RGB", (16383, 1)).save(io.BytesIO(), format="WEBP")
    with pytest.raises((OSError, ValueError)):
        Image.new("RGB", (16384, 1)).save(io.BytesIO(), format="WEBP")


def test_a_webp_over_its_limit_is_refused_in_one_line_before_any_work(tmp_path):
    check_size(tmp_path / "a.webp", (16383, 16383))
    check_size(tmp_path / "a.png", (MAX_SIDE, MAX_SIDE))
    check_size(tmp_path / "a.jpg", (MAX_SIDE, MAX_SIDE))
    missing = tmp_path / "no-such-map.geojson"  # never read: the size is refused first
    with pytest.raises(InputError) as err:
        render_to_file(RenderRequest([missing], size=(MAX_SIDE, 100)), tmp_path / "a.webp")
    line = err.value.one_line()
    assert "a WEBP picture holds at most 16383 px a side, not 16384x100; write a .png or .jpg" in line
    assert "\n" not in line and not (tmp_path / "a.webp").exists()
