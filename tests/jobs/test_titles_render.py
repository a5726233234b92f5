"""A rendered map carries its default title and subtitle, and the CLI turns each off."""

import math

import numpy as np

from app.cli import main
from app.export.png import read_metadata
from app.jobs.render import RenderRequest, render


def _hike(path):
    n = 60
    pts = "".join(
        f'<trkpt lat="{46.47 - 0.01 * (1 - math.cos(2 * math.pi * i / n)):.6f}" '
        f'lon="{13.79 + 0.015 * math.sin(2 * math.pi * i / n):.6f}"><ele>{810 + 600 * math.sin(math.pi * i / n):.1f}'
        "</ele></trkpt>"
        for i in range(n + 1)
    )
    path.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><name>Vršič Loop</name></metadata><trk><trkseg>{pts}</trkseg></trk></gpx>"
    )
    return path


def test_render_draws_the_default_title_and_track_subtitle(tmp_path):
    gpx = _hike(tmp_path / "hike.gpx")
    kw = dict(style="ink", size=(480, 360), seed=1, labels=False, scale_bar=False, north_arrow=False)
    titled = render(RenderRequest([gpx], **kw))
    assert titled.scene.title == "Vršič Loop"
    assert titled.scene.subtitle in ("7.1 km · ↑ 599 m", "7.1 km · ↑ 600 m")  # an ellipse 2.3 × 2.2 km, 600 m up
    assert titled.metadata["title"] == "Vršič Loop" and titled.metadata["subtitle"] == titled.scene.subtitle
    bare = render(RenderRequest([gpx], title="", **kw))
    assert bare.scene.title is None and bare.scene.subtitle is None
    changed = np.any(titled.image != bare.image, axis=2)
    assert changed.mean() > 0.002  # the title's ink is on the picture


def test_cli_no_subtitle_and_no_title(tmp_path, capsys):
    gpx = _hike(tmp_path / "hike.gpx")
    out = tmp_path / "a.png"
    assert main(["render", str(gpx), "-o", str(out), "--size", "320x240", "--style", "ink", "--no-subtitle"]) == 0
    meta = read_metadata(out)
    assert meta["title"] == "Vršič Loop" and meta["subtitle"] is None
    out2 = tmp_path / "b.png"
    assert main(["render", str(gpx), "-o", str(out2), "--size", "320x240", "--style", "ink", "--no-title"]) == 0
    meta = read_metadata(out2)
    assert meta["title"] is None and meta["subtitle"] is None
