"""Fonts shipped in resources/fonts/, loaded once, with a fallback that never fails."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import skia

from app.paths import resource_root

FALLBACK_FONT = "EBGaramond-Regular.ttf"
T = TypeVar("T")
_NOISE = re.compile(rb"^Fontconfig (warning|error): .*$\n?", re.MULTILINE)


def without_fontconfig_noise(fn: Callable[[], T]) -> T:
    """Call `fn` with the process's stderr (fd 2) caught, and pass on all of it except fontconfig's complaints.

    skia bundles its own, older fontconfig. When it first loads the system's configuration it scans every template
    in /usr/share/fontconfig/conf.avail and warns about elements it does not know (Debian 12's
    05-reset-dirs-sample.conf: `unknown element "reset-dirs"`), straight onto fd 2. FONTCONFIG_FILE does not help:
    that scan does not depend on the config file. The warning comes once, when skia's font manager starts.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no usable stderr (a windowed build): nothing to keep clean
        return fn()
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            return fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = _NOISE.sub(b"", caught.read())
            if rest:
                os.write(2, rest)


# Start skia's font manager (and its fontconfig) now, quietly: every typeface below goes through it.
_FONT_MANAGER = without_fontconfig_noise(skia.FontMgr.RefDefault)


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
    try:
        return _FONT_MANAGER.matchFamilyStyleCharacter("", skia.FontStyle(), [], ord(char))
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
