"""Frozen entry point of `MapBrush`, the windowed executable: `MapBrush [FILES] [--screenshot OUT.png]`.

Everything goes to `mapbrush gui`, except --version / --help, which the command line answers.
"""

import sys

from _mapbrush_boot import prepare


def gui_argv(argv: list[str]) -> list[str]:
    if argv and argv[0] in ("--version", "-h", "--help"):
        return argv
    return ["gui", *argv]


if __name__ == "__main__":
    prepare()
    from app.cli import main

    sys.exit(main(gui_argv(sys.argv[1:])))
