"""Progress bars draw on a terminal only: piped output gets no carriage-return frames."""

from __future__ import annotations

import io

import pytest

from detection.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_frames_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    assert sum(progress_bar(range(500), desc="work")) == sum(range(500))
    assert piped.getvalue() == ""


def test_a_terminal_gets_the_bar_unless_the_caller_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    list(progress_bar(range(5), desc="work"))
    assert "work" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    list(progress_bar(range(5), desc="work", enabled=False))
    assert quiet.getvalue() == ""
