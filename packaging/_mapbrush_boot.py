"""Start-up work shared by the two frozen executables (MapBrush and mapbrush).

Runs before any app module does its real work:
- a windowed build on Windows has no stdout/stderr (None): point them at a log file, so a print
  or a warning cannot crash the window;
- when the person installed the optional AI runtime (torch, diffusers …) into the managed
  environment under the user data folder, make it importable (app.models.runtime.activate).
"""

from __future__ import annotations

import os
import sys


def _quiet_streams() -> None:
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        from app.paths import user_log_dir

        folder = user_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        sink = open(folder / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the app
    except OSError:
        sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = sink
    if sys.stderr is None:
        sys.stderr = sink


def prepare() -> None:
    _quiet_streams()
    try:
        from app.models.runtime import activate

        activate()
    except Exception as exc:  # a broken AI runtime must never stop the procedural app
        print(f"mapbrush: warning: the AI runtime could not be activated ({exc})", file=sys.stderr)
