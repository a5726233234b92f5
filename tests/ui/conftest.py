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
