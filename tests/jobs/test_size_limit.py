"""The picture's size: 16 to MAX_SIDE (16384) pixels a side, refused beyond in one line before any work."""

from __future__ import annotations

import pytest

from app.cli import main
from app.errors import InputError
from app.jobs.render import MAX_SIDE, RenderRequest
from app.paths import resource_root

DEMO = resource_root() / "examples" / "harbour_town.geojson"


@pytest.mark.parametrize("size", [(16, 16), (MAX_SIDE, MAX_SIDE), (16, MAX_SIDE), (7016, 9933)])
def test_sizes_within_the_range_are_accepted(size):
    assert MAX_SIDE == 16384
    RenderRequest([DEMO], size=size).validate()


@pytest.mark.parametrize("size", [(MAX_SIDE + 1, 100), (100, MAX_SIDE + 1), (15, 100), (100, 15)])
def test_sizes_outside_are_refused_in_one_line(size):
    with pytest.raises(InputError) as err:
        RenderRequest([DEMO], size=size).validate()
    assert err.value.one_line() == f"size {size[0]}x{size[1]} is out of range (16 to 16384 pixels a side)"


def test_the_cli_refuses_an_oversize_picture_before_any_work(tmp_path, capsys):
    out = tmp_path / "big.png"
    assert main(["render", "--example", "--size", f"{MAX_SIDE + 1}x100", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mapbrush: error: size {MAX_SIDE + 1}x100 is out of range (16 to 16384 pixels a side)"
    assert not out.exists()


def test_settings_keep_a_size_up_to_the_cap_and_drop_one_over():
    from app.settings import Settings

    assert Settings.from_dict({"size": [MAX_SIDE, MAX_SIDE]}).size == [MAX_SIDE, MAX_SIDE]
    assert Settings.from_dict({"size": [MAX_SIDE + 1, 100]}).size == Settings().size
