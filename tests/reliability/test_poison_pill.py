"""Work that kills its worker every time: run at most three times, then failed and
acknowledged, while the rest of the queue flows (``governance.deliveries``)."""

from __future__ import annotations

import re
import time

import pytest

from tests.reliability.stack import Process, Stack, wait_until

pytestmark = pytest.mark.reliability

SWEEP = "optout.tasks.notify_sweep"


def _received(worker: Process, task: str) -> dict[str, int]:
    """How many times the worker was handed each message of ``task``, by message id."""
    counts: dict[str, int] = {}
    for task_id in re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", worker.log()):
        counts[task_id] = counts.get(task_id, 0) + 1
    return counts


def test_a_task_that_always_kills_its_worker_runs_three_times_and_the_queue_flows(
    stack: Stack, figure
) -> None:
    worker = stack.worker("w-poison", concurrency=1, include="tests.reliability.poison")
    marker = stack.folder / "poison-runs"
    started = time.monotonic()
    stack.drive("send", task="tests.reliability.poison.die", kwargs={"marker": str(marker)})
    stack.drive("send", task=SWEEP, times=10)

    wait_until(lambda: worker.count(f"Task {SWEEP}[") >= 20, 120, "the sweeps behind it run")
    wait_until(lambda: worker.count("not run again"), 60, "the poison is given up")
    given_up = round(time.monotonic() - started, 1)
    time.sleep(5)  # long enough for a fifth delivery, if there were one

    runs = len(marker.read_text().splitlines())
    deliveries = _received(worker, "tests.reliability.poison.die")
    figure("poison_runs", runs)
    figure("poison_deliveries", list(deliveries.values()))
    figure("poison_given_up_after_seconds", given_up)
    figure("children_lost", worker.count("exited with 'exitcode 1'"))
    assert runs == 3
    assert list(deliveries.values()) == [4]  # three runs that died, one that gave up
    assert sum(_received(worker, SWEEP).values()) == 10
    assert worker.count(f"Task {SWEEP}[") == 20  # each received once and succeeded once
    assert worker.popen.poll() is None
    worker.stop()


def test_a_shard_that_always_kills_its_worker_fails_its_release_with_the_reason(
    stack: Stack, figure
) -> None:
    stack.drive("dataset", folder=str(stack.folder), spec={"shards": 2, "rows_per_shard": 500})
    # Every shard build exits hard midway, as a shard whose rows exhaust memory would.
    poisoned = stack.worker("w-shard", concurrency=2, RELEASE_CRASH_AT="shard_partial")
    started = time.monotonic()
    version_id = stack.drive("release")

    def ended() -> dict | None:
        version = stack.drive("state")["versions"][-1]
        return version if version["status"] != "building" else None

    version = wait_until(ended, 180, "the poisoned release ends")
    failed_in = round(time.monotonic() - started, 1)
    deliveries = _received(poisoned, "governance.tasks.release_shard_task")
    poisoned.stop()
    figure("shard_deliveries", sorted(deliveries.values()))
    figure("release_failed_after_seconds", failed_in)
    assert version["id"] == version_id
    assert version["status"] == "failed"
    assert "stopped the worker process running it 3 times in a row" in version["error"]
    assert version["error"].startswith("Building shard shard-")
    assert deliveries and max(deliveries.values()) <= 4

    healthy = stack.worker("w-healthy")
    again = stack.drive("release")
    wait_until(
        lambda: stack.drive("state")["versions"][-1]["status"] == "published", 120, "release"
    )
    assert stack.drive("verify", id=again)["ok"]
    healthy.stop()
