"""Scoring many images per call: one write for the batch, yet an image the database refuses fails
alone, and concurrent batches over the same images score each image exactly once."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select

from db.models import Detection, ListingImage
from detection.imageio import load_image
from detection.matcher import Match
from detection.matching.evidence import Evidence
from tests.workers.conftest import World
from workers.scoring import ScoreOutcome, score_batch


def _key(image: np.ndarray) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()


def _pixels_key(world: World, image_id: int) -> str:
    """The key :class:`ScriptedMatcher` knows the image by, from its pixels as the worker loads them."""
    with world.sessions()() as session:
        path = session.scalars(select(ListingImage.path).where(ListingImage.id == image_id)).one()
    return _key(load_image(world.settings.media_root / path))


class ScriptedMatcher:
    """Matches each image to the original scripted for its pixels, without any image processing."""

    def __init__(self, original_by_key: dict[str, str]) -> None:
        self.original_by_key = original_by_key

    def match(self, image: np.ndarray, k: int = 10) -> list[Match]:
        return [Match(self.original_by_key[_key(image)], 0.95, Evidence.from_components({"inliers": 60.0}))]

    def match_batch(self, images: Sequence[np.ndarray], k: int = 10) -> list[list[Match]]:
        return [self.match(image, k) for image in images]


def _detections(world: World) -> list[tuple[int, int | None]]:
    with world.sessions()() as session:
        return [
            (int(i), o) for i, o in session.execute(select(Detection.listing_image_id, Detection.original_id))
        ]


def test_an_image_whose_row_the_database_refuses_fails_alone_with_its_reason(world: World) -> None:
    good = [world.add_image("stolen", seed) for seed in (2, 5)]
    bad = world.add_image("other", 1)
    # The bad image "matches" an original that is not in the database: its row breaks a foreign key.
    script = {
        _pixels_key(world, good[0]): "1",
        _pixels_key(world, good[1]): "2",
        _pixels_key(world, bad): "999999",
    }
    matcher: Any = ScriptedMatcher(script)
    sessions = world.sessions()

    outcomes = {o.listing_image_id: o for o in score_batch(sessions, matcher, world.settings, [*good, bad])}

    statuses = world.statuses([*good, bad])
    assert [statuses[i] for i in good] == [("scored", None), ("scored", None)]
    assert [outcomes[i].status for i in good] == ["scored", "scored"]
    assert all(len(outcomes[i].detections) == 1 for i in good)
    assert sorted(_detections(world)) == [(good[0], 1), (good[1], 2)]
    status, error = statuses[bad]
    assert status == "queued" and error is not None and "could not write detections" in error
    assert outcomes[bad].status == "queued" and outcomes[bad].error == error


def test_concurrent_batches_over_the_same_images_score_each_image_once(world: World) -> None:
    ids = [world.add_image("other", seed) for seed in range(12)]
    matcher: Any = ScriptedMatcher(
        {_pixels_key(world, image_id): str(1 + n % 8) for n, image_id in enumerate(ids)}
    )
    sessions = world.sessions()
    barrier = threading.Barrier(4)
    outcomes: list[ScoreOutcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        order = ids[:]
        random.Random(seed).shuffle(order)
        try:
            barrier.wait(timeout=30)
            for start in range(0, len(order), 3):
                got = score_batch(sessions, matcher, world.settings, order[start : start + 3])
                with lock:
                    outcomes.extend(got)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    scored = sorted(o.listing_image_id for o in outcomes if o.status == "scored")
    assert scored == sorted(ids), "each image scored by exactly one of the concurrent batches"
    assert set(world.statuses(ids).values()) == {("scored", None)}
    with world.sessions()() as session:
        attempts = session.scalars(
            select(func.max(ListingImage.attempts)).where(ListingImage.id.in_(ids))
        ).one()
    assert attempts == 1, "no image was claimed twice"
    assert len(_detections(world)) == len(ids)
