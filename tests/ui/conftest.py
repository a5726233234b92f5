from pathlib import Path

import pytest

pytest.importorskip("PySide6")

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def town() -> Path:
    return EXAMPLES / "harbour_town.geojson"


@pytest.fixture
def hike() -> Path:
    return EXAMPLES / "harbour_hike.gpx"


@pytest.fixture
def window(qtbot, tmp_path):
    from app.settings import Settings
    from app.ui.main_window import MainWindow

    win = MainWindow(Settings(), config_dir=tmp_path / "config", probe=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.session.shutdown()


@pytest.fixture
def drop():
    return _drop


@pytest.fixture
def load_map(qtbot):
    def load(window, paths, timeout=30000):
        with qtbot.waitSignal(window.sketch_shown, timeout=timeout):
            _drop(window, paths)

    return load


def _drop(window, paths) -> None:
    """Drop files on the window as a person would."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(event)


class GapMeter:
    """Measures the event loop's gaps: a 5 ms QTimer notes how long each turn really took."""

    def __init__(self) -> None:
        import time

        from PySide6.QtCore import QTimer

        self._now = time.perf_counter
        self.gaps: list[float] = []
        self._last = self._now()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._now()
        self.gaps.append(now - self._last)
        self._last = now

    def __enter__(self) -> "GapMeter":
        import gc

        gc.collect()  # garbage left by earlier tests is not this window's doing
        self._last = self._now()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()

    def assert_no_stall(self, limit: float = 0.050) -> None:
        assert len(self.gaps) > 20
        assert max(self.gaps) <= limit, f"longest event-loop gap {max(self.gaps) * 1000:.0f} ms"


@pytest.fixture
def gap_meter():
    return GapMeter
