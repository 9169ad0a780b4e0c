"""``copywatch bench pipeline`` sends images as the crawler does: what arrived, in one call."""

from __future__ import annotations

import pytest

from copywatch.commands.bench_pipeline import _send


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    calls: list[list[int]] = []

    def enqueue(settings: object, ids: list[int]) -> int:
        calls.append(list(ids))
        return len(ids)

    monkeypatch.setattr("workers.enqueue.enqueue_score_images", enqueue)
    return calls


def test_a_burst_goes_in_one_call_and_one_per_message_in_one_call_each(sent: list[list[int]]) -> None:
    ids = list(range(20))
    due = _send(None, ids, None, one_per_message=False)  # type: ignore[arg-type]
    assert sent == [ids] and len(set(due.values())) == 1
    sent.clear()
    _send(None, ids, None, one_per_message=True)  # type: ignore[arg-type]
    assert sent == [[i] for i in ids]


def test_at_a_rate_every_image_is_sent_once_in_order_and_due_on_schedule(sent: list[list[int]]) -> None:
    ids = list(range(12))
    due = _send(None, ids, 100.0, one_per_message=False)  # type: ignore[arg-type]
    assert [i for call in sent for i in call] == ids and all(sent)
    assert [round(due[i] - due[0], 6) for i in ids] == [round(i / 100.0, 6) for i in ids]


def test_the_warm_up_waits_for_every_worker_then_sends_an_image_a_message(
    sent: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from copywatch.commands import bench_pipeline

    answers = iter([[{"bench0-q@host": {"ok": "pong"}}], [{"bench0-q@host": {}}, {"bench1-q@host": {}}]])
    pings: list[list[str]] = []

    class Control:
        def ping(self, destination: list[str], timeout: float) -> list[dict[str, object]]:
            pings.append(list(destination))
            return next(answers)

    class Producer:
        control = Control()

    monkeypatch.setattr("workers.enqueue.producer", lambda settings: Producer())
    waited: list[list[int]] = []
    monkeypatch.setattr(bench_pipeline, "_wait", lambda url, ids, timeout: waited.append(list(ids)))
    bench_pipeline._warm_up(None, "url", [7, 8, 9, 10], ["bench0-q@host", "bench1-q@host"])  # type: ignore[arg-type]
    assert len(pings) == 2  # the second worker answered only the second ping
    assert sent == [[7], [8], [9], [10]] and waited == [[7, 8, 9, 10]]


def test_the_warm_up_stops_naming_a_worker_that_never_answers(
    sent: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from copywatch.commands import bench_pipeline

    class Control:
        def ping(self, destination: list[str], timeout: float) -> list[dict[str, object]]:
            return [{"bench0-q@host": {"ok": "pong"}}]  # bench1 never answers

    class Producer:
        control = Control()

    monkeypatch.setattr("workers.enqueue.producer", lambda settings: Producer())
    with pytest.raises(SystemExit, match="bench1-q@host") as stopped:
        bench_pipeline._warm_up(None, "url", [7, 8], ["bench0-q@host", "bench1-q@host"], timeout=0.2)  # type: ignore[arg-type]
    assert "bench0" not in str(stopped.value) and sent == []  # nothing timed, nothing sent
