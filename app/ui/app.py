"""Start the window: `run(files, screenshot=...)`. `mapbrush gui` and `python -m app` call this."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)
SCREENSHOT_TIMEOUT_MS = 120_000


def run(files: list[str] | tuple[str, ...] = (), *, screenshot: str | None = None) -> int:
    """Open the window (loading `files`); with `screenshot`, save a picture of the window once the
    sketch is shown and exit (0 on success, 1 when no sketch appeared in time)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app import __version__
    from app.paths import APP_NAME, resource_root
    from app.settings import Settings
    from app.ui.geometry import restore_geometry
    from app.ui.logs import setup_logging
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    setup_logging()
    from app.startup import tune_memory

    tune_memory()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    icon = QIcon()
    for png in sorted((resource_root() / "icons").glob("mapbrush-*.png")):  # every size: the shell picks
        icon.addFile(str(png))
    if not icon.isNull():
        app.setWindowIcon(icon)
    settings = Settings.load()
    apply_theme(app, settings.theme)
    win = MainWindow(settings)
    if screenshot is None:
        restore_geometry(win)
    win.show()
    outcome = {"code": 0}
    if screenshot:
        if not files:
            QTimer.singleShot(500, lambda: _grab(win, screenshot, app, outcome))
        else:
            win.sketch_shown.connect(lambda: QTimer.singleShot(300, lambda: _grab(win, screenshot, app, outcome)))
            win.session.load_errors.connect(lambda errs: _give_up(app, outcome, "; ".join(errs)))

            def timeout() -> None:
                _give_up(app, outcome, "no sketch appeared in time")

            QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, timeout)
    if files:
        win.open_paths([Path(f) for f in files])
    code = app.exec()
    return outcome["code"] or code


def _grab(win, path: str, app, outcome: dict) -> None:
    if win.session.lanes.running():  # let the style thumbnails finish, briefly
        from PySide6.QtCore import QTimer

        outcome["waits"] = outcome.get("waits", 0) + 1
        if outcome["waits"] < 100:
            QTimer.singleShot(100, lambda: _grab(win, path, app, outcome))
            return
    ok = win.grab().save(str(path))
    if not ok:
        print(f"mapbrush: error: could not write the screenshot {path}", file=sys.stderr)
        outcome["code"] = 1
    win.close()
    app.quit()


def _give_up(app, outcome: dict, why: str) -> None:
    print(f"mapbrush: error: {why}", file=sys.stderr)
    outcome["code"] = 1
    app.quit()
