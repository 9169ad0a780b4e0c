"""Progress bars that draw only on a terminal.

A bar redraws itself with carriage returns many times a second: on a terminal that is one line,
in a CI log or a file (``copywatch eval … > out.txt``) it is thousands of lines. So a bar is
shown only when standard error is a terminal, and asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def on_terminal() -> bool:
    """Whether standard error is an interactive terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(iterable: Iterable[T] | None = None, *, enabled: bool = True, **options: Any) -> tqdm:
    """A tqdm bar on standard error, disabled unless ``enabled`` and standard error is a terminal.

    Args:
        iterable: what to iterate over (None: update the bar by hand).
        enabled: the caller wants a bar (e.g. not ``--json``).
        options: tqdm's own (``desc``, ``total``, ``unit``…).
    """
    options.setdefault("file", sys.stderr)
    return tqdm(iterable, disable=not (enabled and on_terminal()), **options)
