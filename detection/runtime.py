"""The matcher at run time: loaded once per process, reloaded when a new catalog index is saved,
with the optional looks an effort level asks for, on the device this process can use.

Both the scoring workers and the review page's search get their matcher from :class:`MatcherCache`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import cv2
import faiss

from detection.catalog import Catalog
from detection.matcher import Matcher

log = logging.getLogger(__name__)

DEFAULT_EFFORT = "balanced"


def default_device() -> str:
    """``cuda`` when this process can use a GPU, else ``cpu``."""
    if not Path("/dev/nvidiactl").exists():
        return "cpu"  # no NVIDIA driver: do not pay for importing torch to learn that
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def limit_threads(threads: int) -> None:
    """Cap the native thread pools (OpenCV, FAISS's OpenMP, torch) of this process.

    A worker runs one pool process per core, each scoring one image at a time; pools sized to
    every core in every process only fight each other (the review bench measured a 20x slowdown
    from FAISS threads spinning on a busy core).
    """
    cv2.setNumThreads(threads)
    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # do not import torch just to configure it
        sys.modules["torch"].set_num_threads(threads)


# The matcher's optional looks per Settings.match_effort. The worker stores only matches at or
# above the review threshold, so by default it skips the looks that serve the ranking of weak
# finds: the dense look (35 ms CPU on a listing that copies nothing, against a 10,000-original
# index; on the dev and strong benchmarks none of its finds scored 0.6) and the strip fallback
# (reorders, never scores). Pasted pictures are matched: collages and inserts score high.
MATCH_EFFORTS: dict[str, dict[str, bool]] = {
    "thorough": {"dense_pass": True, "proposals": True, "strip_fallback": True},
    "balanced": {"dense_pass": False, "proposals": True, "strip_fallback": False},
    "fast": {"dense_pass": False, "proposals": False, "strip_fallback": False},
}


class MatcherCache:
    """The catalog index and its :class:`~detection.matcher.Matcher`, loaded lazily and reloaded
    between tasks when a new index version is saved to ``index_dir``.

    Args:
        index_dir: where ``copywatch catalog build`` saves the index.
        device: ``cuda`` or ``cpu``; None picks :func:`default_device`.
        check_interval_s: how often to look at the version on disk (it is a small file read).
        threads: cap the native thread pools of this process to this many when loading (None:
            leave them; worker processes pass 1).
        effort: ``thorough``, ``balanced`` or ``fast`` (the workers' ``MATCH_EFFORT`` setting;
            the review page's search takes every look): which of the matcher's optional looks it
            takes (:data:`MATCH_EFFORTS`).
    """

    def __init__(
        self,
        index_dir: Path,
        *,
        device: str | None = None,
        check_interval_s: float = 2.0,
        threads: int | None = None,
        effort: str = DEFAULT_EFFORT,
    ) -> None:
        if effort not in MATCH_EFFORTS:
            raise ValueError(f"unknown match effort {effort!r}; one of {', '.join(MATCH_EFFORTS)}")
        self.index_dir = Path(index_dir)
        self.effort = effort
        self.device = device
        self.check_interval_s = check_interval_s
        self.threads = threads
        self._matcher: Matcher | None = None
        self._version: str | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @property
    def version(self) -> str | None:
        return self._version

    def get(self) -> Matcher:
        """The matcher for the newest saved catalog (loads it on first use or after a change).

        Raises:
            FileNotFoundError: no catalog index has been built yet.
        """
        with self._lock:
            now = time.monotonic()
            if self._matcher is not None and now - self._checked_at < self.check_interval_s:
                return self._matcher
            self._checked_at = now
            stamp = _saved_stamp(self.index_dir)
            if self._matcher is not None and stamp == self._stamp:
                return self._matcher
            stored = Catalog.stored_version(self.index_dir)
            if self._matcher is None or (stored is not None and stored != self._version):
                if self.threads is not None:
                    limit_threads(self.threads)
                catalog = Catalog.load(self.index_dir)
                device = self.device or default_device()
                self._matcher = Matcher(catalog, device=device, **MATCH_EFFORTS[self.effort])
                self._version = catalog.version
                log.info("loaded catalog %s (%d originals) on %s", catalog.version, len(catalog), device)
            self._stamp = stamp
            return self._matcher


def _saved_stamp(index_dir: Path) -> tuple[int, int, int] | None:
    """Which saved catalog ``index_dir`` holds, from its meta file's inode, size and modification
    time (a save replaces the whole directory), None when there is none. Parsing the file for its
    version (230 KB at 10,000 originals) every check cost a worker about 1 ms an image."""
    try:
        stat = (index_dir / "meta.json").stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
