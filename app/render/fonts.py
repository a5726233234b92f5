"""Fonts shipped in resources/fonts/, loaded once, with a fallback that never fails."""

from __future__ import annotations

from functools import lru_cache

import skia

from app.paths import resource_root

FALLBACK_FONT = "EBGaramond-Regular.ttf"


def hex_color(text: str, alpha: int = 255) -> skia.Color4f | int:
    """'#rrggbb' or '#rrggbbaa' → skia colour (int ARGB)."""
    t = text.lstrip("#")
    try:
        r, g, b = int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16)
        a = int(t[6:8], 16) if len(t) >= 8 else alpha
    except (ValueError, IndexError):
        r, g, b, a = 0, 0, 0, alpha
    return skia.Color(r, g, b, a)


@lru_cache(maxsize=32)
def typeface(name: str) -> skia.Typeface:
    """The typeface in resources/fonts/<name>; the bundled Garamond, then skia's default if missing."""
    for candidate in (name, FALLBACK_FONT):
        path = resource_root() / "fonts" / candidate
        if path.is_file():
            tf = skia.Typeface.MakeFromFile(str(path))
            if tf is not None:
                return tf
    return skia.Typeface.MakeDefault()


def font(name: str, size: float) -> skia.Font:
    f = skia.Font(typeface(name), max(float(size), 1.0))
    f.setEdging(skia.Font.Edging.kAntiAlias)
    f.setSubpixel(True)
    f.setHinting(skia.FontHinting.kNone)
    f.setLinearMetrics(True)
    return f


@lru_cache(maxsize=256)
def _fallback_typeface(char: str) -> skia.Typeface | None:
    mgr = skia.FontMgr.RefDefault()
    try:
        return mgr.matchFamilyStyleCharacter("", skia.FontStyle(), [], ord(char))
    except Exception:  # pragma: no cover - depends on the platform's font manager
        return None


def font_for_text(name: str, size: float, text: str) -> skia.Font:
    """The named font, or a system font that has every character of `text` (CJK, Cyrillic...)."""
    f = font(name, size)
    glyphs = f.textToGlyphs(text)
    missing = [ch for ch, g in zip(text, glyphs) if g == 0 and not ch.isspace()]
    if not missing:
        return f
    tf = _fallback_typeface(missing[0])
    if tf is None:
        return f
    alt = skia.Font(tf, f.getSize())
    alt.setEdging(skia.Font.Edging.kAntiAlias)
    alt.setSubpixel(True)
    alt_glyphs = alt.textToGlyphs(text)
    return alt if sum(g == 0 for g in alt_glyphs) < len(missing) else f
