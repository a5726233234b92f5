"""Log to a rotating file in the user log folder (and to stderr for warnings)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.paths import user_log_dir

LOG_NAME = "mapbrush.log"


def setup_logging(folder: Path | None = None, level: int = logging.INFO) -> Path | None:
    folder = folder or user_log_dir()
    root = logging.getLogger()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / LOG_NAME, maxBytes=2_000_000, backupCount=3,
                                                       encoding="utf-8")  # fmt: skip
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    for h in list(root.handlers):
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == folder / LOG_NAME:
            return folder / LOG_NAME
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return folder / LOG_NAME
