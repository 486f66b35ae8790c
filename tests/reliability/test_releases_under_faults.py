"""Releases under real faults: workers killed, tasks delivered twice, Redis restarted,
database connections cut. Every release must publish, complete before it is visible,
verified, with progress never past 100 %, and nothing left that no version lists."""

from __future__ import annotations

import random
import time

import pytest

from tests.reliability.stack import Stack, wait_until
from tests.reliability.watch import VisibilityWatcher

pytestmark = pytest.mark.reliability

SPEC = {"shards": 4, "rows_per_shard": 15_000, "owners": 300}
FAST_RECONCILER = {"RELEASE_RECONCILE_SECONDS": "5", "RELEASE_STALE_SECONDS": "10"}


@pytest.fixture(scope="module")
def site(stack: Stack) -> Stack:
    stack.drive("dataset", folder=str(stack.folder), spec=SPEC)
    stack.pending = stack.drive("seed_requests", count=40, prefix="owner")  # type: ignore[attr-defined]
    return stack


def _next_exclusion(stack: Stack) -> None:
    """Approve one more request, so the next release has a new checkpoint to apply."""
    stack.drive("approve", ids=[stack.pending.pop()])  # type: ignore[attr-defined]


def _published(stack: Stack, version_id: int, timeout: float = 240) -> dict:
    def done() -> dict | None:
        version = next(v for v in stack.drive("state")["versions"] if v["id"] == version_id)
        return version if version["status"] != "building" else None

    version = wait_until(done, timeout, f"version {version_id} leaves building")
    assert version["status"] == "published", version
    report = stack.drive("verify", id=version_id)
    assert report["ok"], report
    return version


def _assert_nothing_unlisted(stack: Stack) -> None:
    root = stack.folder / "datasets" / "demo"
    leftovers = [
        p.relative_to(root)
        for internal in (".staging", ".work")
        for p in (root / internal).glob("*")
    ]
    assert leftovers == []


def test_redis_restarted_under_a_running_worker_keeps_consuming(site: Stack, figure):
    worker = site.worker("w-restart")
    waits = []
    for _ in range(5):
        site.redis.stop()
        time.sleep(1)
        site.redis.start()
        before = worker.count("optout.tasks.notify_sweep")
        started = time.monotonic()
        site.drive("send", task="optout.tasks.notify_sweep")
        wait_until(
            lambda before=before: worker.count("optout.tasks.notify_sweep") > before,
            30,
            "a task sent after the restart is consumed",
        )
        waits.append(round(time.monotonic() - started, 2))
    figure("consumed_after_restart_seconds", waits)
    worker.stop()


def test_every_task_of_a_release_delivered_twice_gives_one_complete_version(site: Stack):
    workers = [site.worker("w-dup1"), site.worker("w-dup2")]
    with VisibilityWatcher(site) as watcher:
        for _ in range(10):
            _next_exclusion(site)
            _published(site, site.drive("release_twice"))
    for worker in workers:
        worker.stop()
    assert watcher.violations == []
    assert watcher.max_progress <= 1.0
    assert watcher.looks > 100
    _assert_nothing_unlisted(site)


def test_a_worker_child_killed_at_random_points_loses_no_release(site: Stack, figure):
    worker = site.worker("w-kill", concurrency=2)
    rng = random.Random(2026)
    kills = mid_release = 0
    with VisibilityWatcher(site) as watcher:
        for _ in range(10):
            _next_exclusion(site)
            version_id = site.drive("release")
            time.sleep(rng.uniform(0.3, 2.0))
            children = worker.children()
            if children:
                mid_release += version_id in watcher.building
                rng.choice(children).kill()
                kills += 1
            _published(site, version_id)
    worker.stop()
    figure("children_killed", kills)
    figure("killed_while_building", mid_release)
    assert kills == 10
    assert watcher.violations == []
    assert watcher.max_progress <= 1.0
    _assert_nothing_unlisted(site)


def test_a_whole_worker_killed_mid_release_resumes_after_a_restart(site: Stack, figure):
    beat = site.beat(**FAST_RECONCILER)
    resumed_in = []
    with VisibilityWatcher(site) as watcher:
        for trial in range(5):
            _next_exclusion(site)
            worker = site.worker(f"w-whole{trial}", **FAST_RECONCILER)
            version_id = site.drive("release")
            time.sleep(1.5)
            worker.kill()  # the main process and its children: nothing acknowledges
            started = time.monotonic()
            replacement = site.worker(f"w-whole{trial}b", **FAST_RECONCILER)
            _published(site, version_id)
            resumed_in.append(round(time.monotonic() - started, 1))
            replacement.stop()
    beat.stop()
    figure("published_after_kill_seconds", resumed_in)
    assert watcher.violations == []
    _assert_nothing_unlisted(site)


def test_database_connections_cut_mid_release_resume_by_themselves(site: Stack, figure):
    beat = site.beat(**FAST_RECONCILER)
    worker = site.worker("w-pg", **FAST_RECONCILER)
    cut = []
    with VisibilityWatcher(site) as watcher:
        for _ in range(3):
            _next_exclusion(site)
            version_id = site.drive("release")
            time.sleep(1.5)
            cut.append(site.terminate_connections())
            _published(site, version_id)
    worker.stop()
    beat.stop()
    figure("connections_terminated", cut)
    assert watcher.violations == []
    _assert_nothing_unlisted(site)
