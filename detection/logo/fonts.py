"""Typefaces for generated logo marks: every TrueType/OpenType font installed on the machine.

Debian's font packages put their files under ``/usr/share/fonts``; each file is grouped by its
family name (as the font itself reports it), so an evaluation can hold whole families out. The
Hershey fonts built into OpenCV are always there, as families ``Hershey *``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
# Symbol, dingbat and maths fonts have no letters; emoji and CJK fonts draw no Latin marks of note.
_NOT_LATIN = ("symbol", "dingbat", "d050000l", "math", "emoji", "cjk", "keyboard", "initials")
HERSHEY_FAMILIES = ("Hershey Simplex", "Hershey Duplex", "Hershey Triplex", "Hershey Complex")
# Families kept out of development and training: `make-logo --fonts holdout` draws only these.
DEFAULT_HOLDOUT_FONTS = (
    "Z003*",
    "Lato*",
    "Caladea*",
    "Linux Biolinum*",
    "TeX Gyre Cursor*",
    "TeX Gyre Chorus*",
    "Nimbus Mono*",
    "P052*",
    "Roboto Condensed*",
    "FreeSerif*",
    "Hershey Triplex",
)


@dataclass(frozen=True)
class Font:
    family: str
    style: str
    path: str  # "" for a Hershey font


def _name(path: Path) -> tuple[str, str] | None:
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 24)
        family, style = font.getname()
        left, top, right, bottom = font.getbbox("AB")
    except (OSError, ValueError):
        return None
    if right - left < 8 or bottom - top < 8:
        return None
    return family or path.stem, style or "Regular"


@lru_cache(maxsize=1)
def installed_fonts() -> tuple[Font, ...]:
    """Every usable font file on the machine plus the Hershey families, sorted by family."""
    found: dict[tuple[str, str], Font] = {}
    for directory in FONT_DIRS:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in {".ttf", ".otf"}:
                continue
            if any(word in str(path).lower() for word in _NOT_LATIN):
                continue
            named = _name(path)
            if named is None or any(word in named[0].lower() for word in _NOT_LATIN):
                continue
            found.setdefault(named, Font(named[0], named[1], str(path)))
    fonts = sorted(found.values(), key=lambda f: (f.family, f.style))
    return tuple(fonts) + tuple(Font(name, "Regular", "") for name in HERSHEY_FAMILIES)


def matches(family: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(fnmatch.fnmatchcase(family.lower(), p.lower()) for p in patterns)


def select_fonts(
    which: str = "all", holdout: tuple[str, ...] | list[str] = DEFAULT_HOLDOUT_FONTS
) -> list[Font]:
    """``which``: ``all``, ``dev`` (without the held-out families) or ``holdout`` (only them)."""
    fonts = list(installed_fonts())
    if which == "dev":
        fonts = [f for f in fonts if not matches(f.family, holdout)]
    elif which == "holdout":
        fonts = [f for f in fonts if matches(f.family, holdout)]
    elif which != "all":
        raise ValueError(f"fonts: expected all, dev or holdout, got {which!r}")
    if not fonts:
        raise ValueError(f"no {which} fonts installed (held out: {', '.join(holdout)})")
    return fonts
