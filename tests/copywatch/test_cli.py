"""The command line's own set-up: logging that tells a user what matters."""

from __future__ import annotations

import logging

import pytest

from copywatch.cli import main


def test_library_chatter_is_kept_out_of_the_log_unless_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("alembic", "faiss.loader"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    assert main([]) == 2  # no command: the help, after logging is set up
    assert logging.getLogger("faiss.loader").level == logging.WARNING
    assert logging.getLogger("alembic").level == logging.WARNING
    monkeypatch.setattr(logging.getLogger("faiss.loader"), "level", logging.NOTSET)
    assert main(["--verbose"]) == 2
    assert logging.getLogger("faiss.loader").level == logging.NOTSET  # --verbose shows it all
