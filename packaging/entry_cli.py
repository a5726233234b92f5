"""Frozen entry point of `mapbrush`, the console executable: the full command line."""

import sys

from _mapbrush_boot import prepare

if __name__ == "__main__":
    prepare()
    from app.cli import main

    sys.exit(main())
