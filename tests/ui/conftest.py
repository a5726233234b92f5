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
    """Measures the event loop's gaps: a 5 ms QTimer notes how long each turn really took, and how much
    of it the GUI thread itself spent on the CPU (work done on it, as opposed to waiting for a core)."""

    def __init__(self) -> None:
        import time

        from PySide6.QtCore import QTimer

        self._now = time.perf_counter
        self._cpu = time.thread_time
        self.gaps: list[tuple[float, float]] = []  # (wall seconds, GUI-thread CPU seconds)
        self._last = (self._now(), self._cpu())
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = (self._now(), self._cpu())
        self.gaps.append((now[0] - self._last[0], now[1] - self._last[1]))
        self._last = now

    def __enter__(self) -> "GapMeter":
        import gc

        gc.collect()  # garbage left by earlier tests is not this window's doing
        self._last = (self._now(), self._cpu())
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()

    def longest(self) -> tuple[float, float]:
        return max(self.gaps, default=(0.0, 0.0))

    def stalled(self, limit: float = 0.050) -> bool:
        return self.longest()[0] > limit

    def assert_no_stall(self, limit: float = 0.050) -> None:
        assert len(self.gaps) > 20
        wall, cpu = self.longest()
        assert wall <= limit, (
            f"longest event-loop gap {wall * 1000:.0f} ms ({cpu * 1000:.0f} ms of it on the GUI thread)"
        )

    @classmethod
    def twice(cls, scenario) -> "GapMeter":
        """Run a timed scenario; on a stall, once more. A stall of ours happens every time; a busy shared
        CI machine taking the core away for 80 ms does not."""
        meter = cls()
        for _ in range(2):
            meter = cls()
            with meter:
                scenario()
            if not meter.stalled():
                break
        return meter


@pytest.fixture
def gap_meter():
    return GapMeter
