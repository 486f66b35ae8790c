"""Two beat processes by mistake, each firing every periodic task on a short schedule:
no release is started twice and no e-mail is sent twice."""

from __future__ import annotations

import time

import pytest

from tests.reliability.stack import Stack, wait_until

pytestmark = pytest.mark.reliability

FAST = {
    "RELEASE_SCHEDULE_SECONDS": "10",
    "OPTOUT_NOTIFY_SWEEP_SECONDS": "2",
    "RELEASE_RECONCILE_SECONDS": "5",
}
SCHEDULED = "Sending due task releases-scheduled"
SWEPT = "Sending due task optout-notify-sweep"


def test_two_beats_start_each_release_once_and_send_each_e_mail_once(stack: Stack, figure) -> None:
    stack.drive(
        "dataset",
        folder=str(stack.folder),
        spec={"shards": 2, "rows_per_shard": 2000},
        cadence_seconds=1,
    )
    ids = stack.drive("seed_requests", count=20, prefix="twice")  # their e-mails wait queued
    workers = [stack.worker("w-a", **FAST), stack.worker("w-b", **FAST)]
    beats = [stack.beat("beat-a", **FAST), stack.beat("beat-b", **FAST)]

    def published_at(size: int) -> bool:
        versions = stack.drive("state")["versions"]
        return any(v["status"] == "published" and v["log_size"] == size for v in versions)

    for batch, size in ((ids[:10], 10), (ids[10:], 20)):
        stack.drive("approve", ids=batch)
        wait_until(lambda size=size: published_at(size), 120, f"a scheduled release at {size}")
    # Both beats keep firing for two more release ticks, with nothing left to release.
    fired = [beat.count(SCHEDULED) for beat in beats]
    wait_until(
        lambda: all(beat.count(SCHEDULED) >= n + 2 for beat, n in zip(beats, fired, strict=True)),
        60,
        "two more ticks of each beat",
    )
    time.sleep(3)  # a release started by the last tick would be building now
    wait_until(lambda: stack.drive("state")["events_unnotified"] == 0, 60, "every e-mail sent")
    state = stack.drive("state")
    for process in beats + workers:
        process.stop()

    versions = [(v["log_size"], v["status"], v["triggered_by"]) for v in state["versions"]]
    sent = sum(worker.count("Subject: ") for worker in workers)
    figure("scheduled_ticks_per_beat", [beat.count(SCHEDULED) for beat in beats])
    figure("sweeps_per_beat", [beat.count(SWEPT) for beat in beats])
    figure("versions", versions)
    figure("emails_sent_of_events", f"{sent}/{state['events_total']}")
    assert all(beat.count(SCHEDULED) >= 3 for beat in beats)
    # One release per checkpoint the ticks saw (a tick may fall between two approvals).
    sizes = [size for size, _status, _trigger in versions]
    assert sizes == sorted(set(sizes)) and sizes[0] == 10 and sizes[-1] == 20
    assert {(status, trigger) for _size, status, trigger in versions} == {("published", "schedule")}
    assert state["requests"] == {"applied": 20}
    assert state["events_total"] == 80  # submitted, verified, approved, applied: 20 each
    assert sent == 80
