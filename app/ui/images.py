"""numpy images ⇄ Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """HxWx3 / HxWx4 / HxW uint8 → a QImage that owns its pixels."""
    arr = np.ascontiguousarray(image)
    if arr.dtype != np.uint8:
        raise TypeError(f"image must be uint8, not {arr.dtype}")
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif arr.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    else:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    return QImage(arr.data, w, h, w * channels, fmt).copy()


def to_pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(image))


def thumbnail(image: np.ndarray, long_side: int = 160) -> QPixmap:
    from PySide6.QtCore import Qt

    pm = to_pixmap(image)
    return pm.scaled(
        long_side, long_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
