"""Map fidelity: how well a painted image keeps the structure image's lines (numpy only).

Score = F1 of the edges of the output against the edges of the structure image (line art),
where an edge pixel counts as matched when the other image has an edge within `tolerance` px.
1.0 = every line is where it should be and nothing else; 0.0 = no line survived.
"""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.2  # fraction of the image's strongest gradient
DEFAULT_TOLERANCE = 2  # px


def _gray(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3].mean(axis=2)
    return a / 255.0 if a.max(initial=0.0) > 1.0 else a


def edges(image: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean edge map: Sobel gradient magnitude above `threshold` x its maximum (absolute floor 0.05)."""
    g = np.pad(_gray(image), 1, mode="edge")
    gx = (g[:-2, 2:] + 2 * g[1:-1, 2:] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[1:-1, :-2] + g[2:, :-2])
    gy = (g[2:, :-2] + 2 * g[2:, 1:-1] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[:-2, 1:-1] + g[:-2, 2:])
    mag = np.hypot(gx, gy)
    peak = float(mag.max(initial=0.0))
    if peak < 0.05:
        return np.zeros(mag.shape, dtype=bool)
    return mag > max(threshold * peak, 0.05)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a boolean mask by `radius` px (disk)."""
    if radius <= 0:
        return mask.copy()
    h, w = mask.shape
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                out |= padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
    return out


def _match_size(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == shape:
        return image
    ys = (np.arange(shape[0]) * image.shape[0] / shape[0]).astype(int)
    xs = (np.arange(shape[1]) * image.shape[1] / shape[1]).astype(int)
    return image[ys][:, xs]


def edge_f1(
    output: np.ndarray,
    structure: np.ndarray,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    threshold: float = DEFAULT_THRESHOLD,
) -> float:
    """Map fidelity in [0, 1]. A structure image without lines scores 1.0 only for an output without edges."""
    ref = edges(structure, threshold)
    out = edges(_match_size(np.asarray(output), ref.shape), threshold)
    n_ref, n_out = int(ref.sum()), int(out.sum())
    if n_ref == 0:
        return 1.0 if n_out == 0 else 0.0
    if n_out == 0:
        return 0.0
    precision = float((out & dilate(ref, tolerance)).sum()) / n_out
    recall = float((ref & dilate(out, tolerance)).sum()) / n_ref
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
