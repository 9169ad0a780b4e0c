"""The scoring service in-process (no broker): what each kind of image ends as, idempotency,
poison images, catalog reloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db.engine import make_engine, session_factory
from db.models import Detection, DetectionKind, ListingImage
from db.scoring_queue import claim_images, requeue_stale
from detection.catalog import Catalog
from detection.runtime import MatcherCache
from tests.support.images import add_arrow, draw_original
from tests.workers.conftest import World
from workers.scoring import score_batch


def _detections(world: World) -> list[tuple[int, int | None, str]]:
    with world.sessions()() as session:
        rows = session.execute(
            select(Detection.listing_image_id, Detection.original_id, Detection.kind)
        ).all()
    return [(int(i), o, str(k.value if isinstance(k, DetectionKind) else k)) for i, o, k in rows]


def test_each_image_ends_scored_or_failed_with_reason_and_rescoring_changes_nothing(world: World) -> None:
    stolen = {world.add_image("stolen", seed): seed for seed in (2, 5)}
    corrupt = world.add_image("corrupt", 0)
    missing = world.add_image("missing", 0)
    ids = [*stolen, corrupt, missing]
    matcher = MatcherCache(world.settings.index_dir).get()
    sessions = world.sessions()

    outcomes = {o.listing_image_id: o for o in score_batch(sessions, matcher, world.settings, ids)}

    statuses = world.statuses(ids)
    for image_id in stolen:
        assert statuses[image_id] == ("scored", None)
        assert outcomes[image_id].status == "scored"
    assert statuses[corrupt][0] == "failed" and "unreadable image" in statuses[corrupt][1]
    assert statuses[missing][0] == "failed" and "missing" in statuses[missing][1]
    found = _detections(world)
    for image_id, seed in stolen.items():
        assert (image_id, seed) in {(i, o) for i, o, _ in found}, "a copy is matched to its original"
    assert not [d for d in found if d[0] in (corrupt, missing)]

    again = score_batch(sessions, matcher, world.settings, ids)
    assert {o.status for o in again if o.listing_image_id in stolen} == {"skipped"}
    assert sorted(_detections(world)) == sorted(found)


def test_a_poison_image_fails_after_max_attempts_instead_of_looping(world: World) -> None:
    image_id = world.add_image("stolen", 3)
    sessions = world.sessions()
    max_attempts = world.settings.score_max_attempts
    for attempt in range(1, max_attempts + 1):
        # Each time: claimed, then its worker "dies" (the row stays scoring) and the lease ends.
        with sessions() as session, session.begin():
            assert list(claim_images(session, [image_id], max_attempts=max_attempts)) == [image_id]
        with sessions() as session, session.begin():
            assert requeue_stale(session, max_attempts=max_attempts, lease_s=0.0, lost_after_s=None) == (
                [image_id] if attempt < max_attempts else []
            )
    assert world.statuses([image_id])[image_id] == (
        "failed",
        f"gave up after {max_attempts} attempts (its worker was lost or it kept failing)",
    )
    with sessions() as session, session.begin():
        assert list(claim_images(session, [image_id], max_attempts=max_attempts)) == []


def test_a_fresh_claim_is_not_taken_twice_but_an_expired_one_is(world: World) -> None:
    image_id = world.add_image("stolen", 4)
    sessions = world.sessions()
    with sessions() as session, session.begin():
        assert list(claim_images(session, [image_id], max_attempts=5)) == [image_id]
    with sessions() as session, session.begin():
        assert list(claim_images(session, [image_id], max_attempts=5, lease_s=3600)) == []
        assert list(claim_images(session, [image_id], max_attempts=5, lease_s=0.0)) == [image_id]
        attempts = session.execute(
            select(ListingImage.attempts).where(ListingImage.id == image_id)
        ).scalar_one()
    assert attempts == 2


def test_matcher_cache_reloads_when_a_new_catalog_version_is_saved(world: World, tmp_path: Path) -> None:
    cache = MatcherCache(world.settings.index_dir, check_interval_s=0.0)
    first = cache.get()
    assert cache.get() is first, "loaded once, not per task"
    catalog = Catalog.load(world.settings.index_dir)
    catalog.add("99", draw_original(99))
    catalog.save(world.settings.index_dir)
    second = cache.get()
    assert second is not first and "99" in second.catalog.ids()
    assert cache.version == catalog.version


def test_matcher_cache_reads_the_saved_version_only_when_the_index_changed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = MatcherCache(world.settings.index_dir, check_interval_s=0.0)
    first = cache.get()
    reads: list[object] = []
    stored_version = Catalog.stored_version
    monkeypatch.setattr(Catalog, "stored_version", lambda d: reads.append(d) or stored_version(d))
    assert cache.get() is first and cache.get() is first
    assert reads == [], "an unchanged index is not parsed again"
    catalog = Catalog.load(world.settings.index_dir)
    catalog.add("99", draw_original(99))
    catalog.save(world.settings.index_dir)
    assert "99" in cache.get().catalog.ids() and len(reads) == 1


def test_queued_rows_without_a_message_are_found_by_the_sweep(world: World) -> None:
    image_id = world.add_image("stolen", 6)
    sessions = world.sessions()
    with sessions() as session, session.begin():
        assert requeue_stale(session, max_attempts=5, lost_after_s=3600) == []
        session.execute(
            update(ListingImage).values(updated_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 5))
        )
    with sessions() as session, session.begin():
        assert requeue_stale(session, max_attempts=5, lost_after_s=60) == [image_id]
    with sessions() as session, session.begin():
        assert requeue_stale(session, max_attempts=5, lost_after_s=60) == [], "touched: not re-sent at once"


def test_match_effort_reaches_the_workers_matcher(world: World) -> None:
    thorough = MatcherCache(world.settings.index_dir, effort="thorough").get()
    balanced = MatcherCache(world.settings.index_dir).get()
    fast = MatcherCache(world.settings.index_dir, effort="fast").get()
    assert (
        thorough.proposals
        and thorough.strip_fallback
        and [look.name for look in thorough.looks.second] == ["dense", "zoom"]
    )
    assert balanced.proposals and not balanced.strip_fallback
    assert [look.name for look in balanced.looks.second] == ["zoom"]
    assert not fast.proposals and [look.name for look in fast.looks.second] == ["zoom"]
    with pytest.raises(ValueError, match="unknown match effort"):
        MatcherCache(world.settings.index_dir, effort="quick")


def test_originals_are_read_only_for_matches_that_get_a_row(world: World) -> None:
    from db.models import Original
    from detection.matcher import Match
    from workers.scoring import originals_of

    def unreachable() -> None:  # a sessions factory that must not be called
        raise AssertionError("the database was asked for nothing it needed")

    sessions = world.sessions()
    with sessions() as session:
        original_id = session.scalars(select(Original.id).order_by(Original.id).limit(1)).one()
    weak = Match(str(original_id + 1), 0.3, {}, None, None)
    strong = Match(str(original_id), 0.9, {}, None, None)
    assert originals_of(unreachable, {7: [weak]}, min_score=0.68) == {}
    assert set(originals_of(sessions, {7: [weak, strong]}, min_score=0.68)) == {original_id}
    assert set(originals_of(sessions, {7: [weak, strong]})) == {original_id, original_id + 1}


def test_a_variant_is_labelled_with_its_region_and_a_copy_is_not(world: World) -> None:
    copy, variant = world.add_image("stolen", 2), world.add_image("variant", 3)
    matcher = MatcherCache(world.settings.index_dir).get()
    score_batch(world.sessions(), matcher, world.settings, [copy, variant])
    with world.sessions()() as session:
        rows = {
            d.listing_image_id: d
            for d in session.scalars(select(Detection).where(Detection.listing_image_id.in_([copy, variant])))
        }
    assert rows[copy].label == "copy" and rows[copy].variant_region is None
    assert rows[variant].original_id == 3 and rows[variant].label == "variant"
    region = rows[variant].variant_region
    assert set(region) == {"original", "query", "share"} and 0 < region["share"] < 0.1
    x0, y0, x1, y1 = region["original"]
    assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 320
    # The arrow's centre (tests.support.images.add_arrow) lies in the region on the original.
    _, (cx, cy) = add_arrow(draw_original(3), 3)
    assert x0 - 4 <= cx <= x1 + 4 and y0 - 4 <= cy <= y1 + 4


def test_a_batch_asks_the_originals_table_once_for_logo_references_and_files(world: World) -> None:
    from sqlalchemy import event

    ids = [world.add_image("stolen", 2), world.add_image("variant", 3), world.add_image("other", 4)]
    matcher = MatcherCache(world.settings.index_dir).get()
    engine = make_engine(world.settings.database_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    score_batch(session_factory(engine), matcher, world.settings, ids)
    assert len([s for s in statements if "FROM originals" in s]) == 1
