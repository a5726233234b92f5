"""Every shell example in the README's "Using the command line" section runs, as written, on the bundled demo data.

Only the README's placeholder file and folder names are swapped for the demo data, and renders get a small --size to
keep this fast. Three lines are not run: `pip install` and `mapbrush models download` need the network, and
`models import` names a file from the reader's own Downloads folder. The AI renders run against an empty models
folder, so they must stop with exit 3 and name the command that installs the missing model; `--engine auto` must
fall back to the procedural engine and succeed.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"
DEMO_FILES = {
    "city.osm.pbf": EXAMPLES / "harbour_town.geojson",
    "town.geojson": EXAMPLES / "harbour_town.geojson",
    "hike.gpx": EXAMPLES / "harbour_hike.gpx",
    "resources/examples": EXAMPLES,  # batch: a folder of map files
    "~/tracks": EXAMPLES,
}
SMALL = "320x240"
NOT_RUN = {("models", "download"): "needs the network", ("models", "import"): "names the reader's own file"}


def cli_section(text: str) -> str:
    start = text.index("\n## Using the command line")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def shell_commands(section: str) -> list[list[str]]:
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return [words for block in blocks for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def _skipped(words: list[str]) -> str | None:
    if words[0] == "pip":
        return "needs the network"
    return NOT_RUN.get(tuple(words[1:3]))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _as_run(words: list[str]) -> list[str]:
    """The README's command's arguments, with the demo files in and a small size."""
    assert words[0] == "mapbrush", words
    args = [str(DEMO_FILES.get(w, w)) for w in words[1:]]
    if args[0] in ("render", "batch"):
        if "--paper" in args:  # a paper's size comes from its dpi: a low one
            args += ["--dpi", "20"]
        elif "--size" in args:
            args[args.index("--size") + 1] = SMALL
        else:
            args += ["--size", SMALL]
    return args


README_COMMANDS = shell_commands(cli_section((ROOT / "README.md").read_text(encoding="utf-8")))


def test_the_section_has_examples_of_every_command():
    firsts = {tuple(w[1:2]) for w in README_COMMANDS if w[0] == "mapbrush"}
    assert {("render",), ("batch",), ("inspect",), ("styles",), ("doctor",), ("models",)} <= firsts
    assert any("--layers" in w for w in README_COMMANDS) and any("--hide" in w for w in README_COMMANDS)


def test_every_readme_example_runs(tmp_path):
    ran = 0
    for words in README_COMMANDS:
        if _skipped(words):
            continue
        cmd = _as_run(words)
        ai = "--engine" in cmd and cmd[cmd.index("--engine") + 1] in ("preview", "final")
        ref = cmd[cmd.index("--reference") + 1] if "--reference" in cmd else None
        if ref and not (tmp_path / ref).exists():
            # the preview before it could not run without a model: give it the PNG the preview would have written
            made = _cli("render", str(DEMO_FILES["town.geojson"]), "--size", SMALL, "-o", ref, cwd=tmp_path)
            assert made.returncode == 0, made.stderr
        proc = _cli(*cmd, cwd=tmp_path)
        shown = shlex.join(words)
        if ai and proc.returncode == 3:  # no model in the test's empty models folder: says how to install it
            assert "mapbrush models download" in proc.stderr, (shown, proc.stderr)
        else:
            assert proc.returncode == 0, (shown, proc.stderr)
            assert "warning" not in proc.stderr.lower() or "mapbrush: warning" in proc.stderr, (shown, proc.stderr)
        ran += 1
    assert ran >= 8


@pytest.mark.parametrize(
    ("line", "why"),
    [("pip install -e '.[ai]'", "network"), ("mapbrush models download z-image-turbo", "network"),
     ("mapbrush models import x.gguf", "own file"), ("mapbrush styles", None)],
)  # fmt: skip
def test_only_the_named_lines_are_left_out(line, why):
    reason = _skipped(shlex.split(line))
    assert (reason is None) if why is None else (why in reason)
