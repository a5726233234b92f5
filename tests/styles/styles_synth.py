"""A small synthetic town as Layers: a coast, a lake, a river, a park, a forest, roads and buildings."""

from __future__ import annotations

import zlib

import numpy as np
import skia

from app.mapdata.model import Kind
from app.render.layers import Layers


def _canvas(w: int, h: int) -> tuple[np.ndarray, skia.Canvas, skia.Surface]:
    buf = np.zeros((h, w), np.uint8)
    surface = skia.Surface.MakeRasterDirect(skia.ImageInfo.MakeA8(w, h), buf, w)
    return buf, surface.getCanvas(), surface


def synthetic_layers(w: int = 512, h: int = 384) -> Layers:
    s = min(w, h) / 1024
    fill = skia.Paint(AntiAlias=True)
    masks: dict[Kind, np.ndarray] = {}
    surfaces = []

    def area(kind: Kind, draw) -> None:
        buf, c, surf = _canvas(w, h)
        draw(c)
        masks[kind] = buf
        surfaces.append(surf)

    def coast(c: skia.Canvas) -> None:
        p = skia.Path()
        p.moveTo(w * 0.72, 0)
        for i in range(1, 21):
            y = h * i / 20
            p.lineTo(w * (0.72 + 0.05 * np.sin(i * 1.3) + 0.03 * np.cos(i * 3.1)), y)
        p.lineTo(w, h)
        p.lineTo(w, 0)
        p.close()
        c.drawPath(p, fill)
        c.drawCircle(w * 0.6, h * 0.1, 30 * s, skia.Paint(AntiAlias=True, Color=0))  # a bay would go here

    area(Kind.SEA, coast)
    area(Kind.WATER, lambda c: c.drawOval(skia.Rect.MakeXYWH(w * 0.12, h * 0.55, w * 0.22, h * 0.25), fill))
    area(Kind.PARK, lambda c: c.drawRoundRect(skia.Rect.MakeXYWH(w * 0.4, h * 0.08, w * 0.18, h * 0.22), 8, 8, fill))
    area(Kind.FOREST, lambda c: c.drawCircle(w * 0.15, h * 0.2, min(w, h) * 0.16, fill))

    def lines(kind: Kind, width: float, pts: list[list[tuple[float, float]]]) -> None:
        def draw(c: skia.Canvas) -> None:
            paint = skia.Paint(
                AntiAlias=True,
                Style=skia.Paint.kStroke_Style,
                StrokeWidth=width * s * 2,
                StrokeCap=skia.Paint.kRound_Cap,
                StrokeJoin=skia.Paint.kRound_Join,
            )
            for line in pts:
                p = skia.Path()
                p.moveTo(line[0][0] * w, line[0][1] * h)
                for x, y in line[1:]:
                    p.lineTo(x * w, y * h)
                c.drawPath(p, paint)

        area(kind, draw)

    lines(Kind.WATERWAY, 5, [[(0.0, 0.45), (0.2, 0.5), (0.4, 0.42), (0.6, 0.5), (0.74, 0.48)]])
    lines(Kind.PRIMARY, 7, [[(0.0, 0.7), (0.5, 0.62), (0.7, 0.3)]])
    lines(Kind.SECONDARY, 5, [[(0.45, 0.0), (0.5, 1.0)]])
    lines(
        Kind.RESIDENTIAL,
        3,
        [[(x, 0.0), (x + 0.03, 1.0)] for x in (0.3, 0.6)] + [[(0.0, y), (0.72, y + 0.02)] for y in (0.25, 0.85)],
    )
    lines(Kind.PATH, 1.5, [[(0.4, 0.1), (0.58, 0.3)]])

    def buildings(c: skia.Canvas) -> None:
        rng = np.random.default_rng(1)
        for _ in range(60):
            x, y = rng.uniform(0.36, 0.68) * w, rng.uniform(0.35, 0.95) * h
            c.drawRect(skia.Rect.MakeXYWH(x, y, rng.uniform(8, 18) * s * 2, rng.uniform(8, 14) * s * 2), fill)

    area(Kind.BUILDING, buildings)
    lineart = np.zeros((h, w), np.uint8)
    for m in masks.values():
        edge = np.abs(np.diff(m.astype(np.int16), axis=1, prepend=0)) + np.abs(
            np.diff(m.astype(np.int16), axis=0, prepend=0)
        )
        np.maximum(lineart, np.clip(edge, 0, 255).astype(np.uint8), out=lineart)
    structure = np.full((h, w, 3), 240, np.uint8)
    for k, m in masks.items():
        structure[m > 127] = (zlib.crc32(k.value.encode()) % 200, (zlib.crc32(k.value.encode()) // 7) % 200, 100)
    return Layers(w, h, masks, structure, lineart)
