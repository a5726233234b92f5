"""Every example of the README's "Any place" section runs as written, against loopback Overpass and Nominatim
(every place name is found as the test village; hike.gpx is a loop in it; renders get a small --size)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from app.cli import main
from tests.sources.osm_samples import search_json
from tests.sources.test_cli_places import _gpx

ROOT = Path(__file__).resolve().parents[2]


def _section() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Any place")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"^```sh\n(.*?)^```", text[start:end], flags=re.MULTILINE | re.DOTALL)
    return [w for block in blocks for line in block.splitlines() if (w := shlex.split(line, comments=True))]


def test_every_any_place_example_runs(services, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    gpx = _gpx(tmp_path)
    commands = _section()
    assert {w[1] for w in commands} == {"render", "fetch", "cache"} and len(commands) >= 7
    for words in commands:
        assert words[0] == "mapbrush"
        if "--place" in words:
            services.places[words[words.index("--place") + 1].lower()] = search_json()
        args = [str(gpx) if w == "hike.gpx" else w for w in words[1:]]
        if args[0] == "render":
            args += ["--size", "320x240"]
        code = main(args)
        _, err = capsys.readouterr()
        assert code == 0, (words, err)
        if "-o" in words:
            assert (tmp_path / words[words.index("-o") + 1]).stat().st_size > 1000, words
    assert "entries   0" in (main(["cache", "info"]) == 0 and capsys.readouterr().out)
