"""Paper formats in pixels: the sizes a print shop expects, the bleed on every side, the pixel cap."""

import pytest

from app.errors import InputError
from app.export.paper import PAPERS, bleed_px, paper_name, paper_size, parse_length_mm
from app.jobs.render import MAX_SIDE


@pytest.mark.parametrize(
    ("name", "size"), [("A4", (2480, 3508)), ("A3", (3508, 4961)), ("Letter", (2550, 3300)), ("Tabloid", (3300, 5100))]
)
def test_sizes_at_300_dpi_and_landscape_swaps(name, size):
    assert paper_size(name).size == size
    assert paper_size(name, landscape=True).size == size[::-1]
    assert not paper_size(name).capped and paper_size(name).warning() is None


def test_table_has_the_issue_papers():
    assert list(PAPERS) == ["A4", "A3", "A2", "A1", "Letter", "Tabloid", "50×70 cm", "18×24 in", "24×36 in"]
    assert paper_name("a3") == "A3" and paper_name("50x70cm") == "50×70 cm" and paper_name("18X24 in") == "18×24 in"
    with pytest.raises(InputError, match="unknown paper 'B5'"):
        paper_name("B5")


def test_bleed_3mm_at_300_dpi_is_35_px_a_side_and_the_margin_grows():
    assert bleed_px(3, 300) == 35
    p = paper_size("A4", 300, bleed_mm=3)
    assert p.bleed_px == 35 and p.trim == (2480, 3508) and p.size == (2550, 3578)
    assert p.trim_box() == (35, 35, 2515, 3543)
    # the margin on the picture keeps 6 % of the trim's short side clear inside the trim
    assert p.margin(0.06) * min(p.size) == pytest.approx(0.06 * 2480 + 35)
    meta = p.metadata()
    assert meta["paper"] == "A4" and meta["bleed_mm"] == 3 and meta["trim_box"] == [35, 35, 2515, 3543]
    assert meta["orientation"] == "portrait"


def test_over_the_cap_lowers_the_dpi_and_warns():
    p = paper_size("24×36 in", 600, bleed_mm=3)
    assert max(p.size) == MAX_SIDE and p.capped and p.dpi < 600
    assert p.size[1] == p.trim[1] + 2 * p.bleed_px
    assert p.dpi * (36 + 6 / 25.4) == pytest.approx(MAX_SIDE, abs=1)
    w = p.warning()
    assert "\n" not in w and "600 dpi" in w and f"{p.dpi:.1f} dpi" in w


def test_lengths():
    assert parse_length_mm("3mm") == 3 and parse_length_mm("0.5cm") == 5 and parse_length_mm("2") == 2
    assert parse_length_mm("0.125in") == pytest.approx(3.175)
    with pytest.raises(InputError, match="not a length"):
        parse_length_mm("three")
    with pytest.raises(InputError, match="out of range"):
        paper_size("A4", bleed_mm=80)


# Every preset at 300 dpi, worked out by hand from its size (mm or in) × 300 / 25.4, rounded; bleed 3 mm is 35 px.
PRESETS_300 = {
    "A4": (2480, 3508),
    "A3": (3508, 4961),
    "A2": (4961, 7016),
    "A1": (7016, 9933),  # issue 14 §4: the print size that must fit in 3 GB
    "Letter": (2550, 3300),
    "Tabloid": (3300, 5100),
    "50×70 cm": (5906, 8268),
    "18×24 in": (5400, 7200),
    "24×36 in": (7200, 10800),
}


@pytest.mark.parametrize(("name", "trim"), PRESETS_300.items())
def test_every_preset_at_300_dpi_with_a_3mm_bleed(name, trim):
    p = paper_size(name, 300, bleed_mm=3)
    assert p.trim == trim and p.bleed_px == 35 and p.size == (trim[0] + 70, trim[1] + 70)
    assert not p.capped and p.dpi == 300 and p.trim_box() == (35, 35, 35 + trim[0], 35 + trim[1])
    turned = paper_size(name, 300, landscape=True, bleed_mm=3)
    assert turned.size == p.size[::-1] and turned.metadata()["orientation"] == "landscape"


@pytest.mark.parametrize("name", PAPERS)
def test_capped_presets_fill_the_cap_exactly(name):
    p = paper_size(name, 2400, bleed_mm=5)
    assert max(p.size) == MAX_SIDE and p.capped and max(p.trim) == MAX_SIDE - 2 * p.bleed_px
    assert p.trim[0] / p.trim[1] == pytest.approx(PAPERS[name][0] / PAPERS[name][1], abs=1e-3)
