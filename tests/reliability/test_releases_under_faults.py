"""Releases under real faults: workers killed, tasks delivered twice, Redis restarted,
database connections cut. Every release must publish, complete before it is visible,
verified, with progress never past 100 %, and nothing left that no version lists."""

from __future__ import annotations

import json
import random
import time

import pyarrow.parquet as pq
import pytest

from tests.reliability.stack import Stack, wait_until
from tests.reliability.watch import VisibilityWatcher

pytestmark = pytest.mark.reliability

SPEC = {"shards": 4, "rows_per_shard": 15_000, "owners": 300}
NAMELESS = {"repositories.parquet"}  # the metadata files that do not name their dataset
FAST_RECONCILER = {"RELEASE_RECONCILE_SECONDS": "5", "RELEASE_STALE_SECONDS": "10"}


@pytest.fixture(scope="module")
def site(stack: Stack) -> Stack:
    stack.drive("dataset", folder=str(stack.folder), spec=SPEC)
    stack.pending = stack.drive("seed_requests", count=40, prefix="owner")  # type: ignore[attr-defined]
    return stack


def _next_exclusion(stack: Stack) -> None:
    """Approve one more request, so the next release has a new checkpoint to apply."""
    stack.drive("approve", ids=[stack.pending.pop()])  # type: ignore[attr-defined]


def _published(
    stack: Stack, version_id: int, watcher: VisibilityWatcher, timeout: float = 240
) -> None:
    if watcher.wait_for(version_id, set(), timeout) != "published":
        version = next(v for v in stack.drive("state")["versions"] if v["id"] == version_id)
        raise AssertionError(f"not published: {version}")
    report = stack.drive("verify", id=version_id)
    assert report["ok"], report


def _assert_nothing_unlisted(stack: Stack) -> None:
    root = stack.folder / "datasets"
    leftovers = [
        p.relative_to(root)
        for internal in (".staging", ".work")
        for p in root.glob(f"*/{internal}/*")
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
            _published(site, site.drive("release_twice"), watcher)
    for worker in workers:
        worker.stop()
    assert watcher.violations == []
    assert watcher.max_progress <= 1.0
    assert watcher.looks > 100
    _assert_nothing_unlisted(site)


def test_a_worker_child_killed_at_random_points_loses_no_release(site: Stack, figure):
    """Each release of ``kill`` loses its worker's only child at a random step, and must
    give the same files as ``calm``: the same source, released undisturbed at the same
    checkpoint just before. Both are new datasets, so their histories match."""
    site.drive("twin", name="kill")
    site.drive("twin", name="calm")  # four letters too: names swap without moving bytes
    worker = site.worker("w-kill", concurrency=1)  # its one child runs every step
    rng = random.Random(2026)
    kills: dict[str, int] = {}
    mid_release = 0
    pairs = []
    with VisibilityWatcher(site) as watcher:
        for _ in range(10):
            _next_exclusion(site)
            reference = watcher.release(dataset="calm")
            assert watcher.wait_for(reference, set(), 240) == "published"
            version_id = watcher.release(dataset="kill")
            step = rng.choice(["planning", "shards", "publishing"])
            seen = watcher.wait_for(version_id, {step}, 120)
            time.sleep(rng.uniform(0, 0.1))
            mid_release += version_id in watcher.building
            (child,) = worker.children()
            child.kill()
            kills[seen] = kills.get(seen, 0) + 1
            _published(site, version_id, watcher)
            pairs.append((reference, version_id))
    worker.stop()
    labels = {v["id"]: v["version"] for v in site.drive("state")["versions"]}
    assert [labels[kept] for _reference, kept in pairs] == [labels[r] for r, _kept in pairs]
    differences = [
        (labels[kept], problem)
        for reference, kept in pairs
        for problem in _differences(site, labels[reference], labels[kept])
    ]
    figure("children_killed_by_step_seen", kills)
    figure("killed_while_building", mid_release)
    figure(
        "versions_identical_to_undisturbed",
        f"{len(pairs) - len({label for label, _ in differences})}/{len(pairs)}",
    )
    assert sum(kills.values()) == 10
    assert differences == []
    assert watcher.violations == []
    assert watcher.max_progress <= 1.0
    _assert_nothing_unlisted(site)


def _differences(stack: Stack, calm_label: str, label: str) -> list[str]:
    """Every file of ``kill <label>`` against ``calm <calm_label>``: byte for byte once the
    dataset's name is swapped (data files and the repository list need no swap); the
    manifests as documents, since they list the hashes of the files that name the
    dataset."""
    root = stack.folder / "datasets"
    ours, theirs = root / "kill" / label, root / "calm" / calm_label
    names = {str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file()}
    if names != {str(p.relative_to(theirs)) for p in theirs.rglob("*") if p.is_file()}:
        return ["different file names"]
    problems = []
    for name in sorted(names - {"manifest.json", "_COMMITTED"}):
        if name.endswith(".parquet") and name not in NAMELESS and not name.startswith("data/"):
            # changelog.parquet names the dataset inside Arrow's encoded schema too: its
            # rows and its head are compared instead of its bytes.
            tables = [pq.read_table(folder / name) for folder in (ours, theirs)]
            heads = [t.schema.metadata for t in tables]
            same = tables[0].equals(tables[1]) and heads[0] == {
                k: v.replace(b"calm", b"kill") for k, v in heads[1].items()
            }
        else:
            expected = (theirs / name).read_bytes()
            if name not in NAMELESS and not name.startswith("data/"):
                expected = expected.replace(b"calm", b"kill")  # the changelog and card
            same = (ours / name).read_bytes() == expected
        if not same:
            problems.append(name)
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (ours, theirs)]
    for manifest in manifests:
        manifest.pop("dataset")
        for entry in manifest["metadata_files"]:
            if entry["path"] not in NAMELESS:
                entry.pop("sha256")
    if manifests[0] != manifests[1]:
        problems.append("manifest.json")
    return problems


def test_a_whole_worker_killed_mid_release_resumes_after_a_restart(site: Stack, figure):
    beat = site.beat(**FAST_RECONCILER)
    resumed_in = []
    mid_release = 0
    with VisibilityWatcher(site) as watcher:
        for trial in range(5):
            _next_exclusion(site)
            worker = site.worker(f"w-whole{trial}", **FAST_RECONCILER)
            version_id = watcher.release()
            watcher.wait_for(version_id, {("planning", "shards", "publishing")[trial % 3]}, 120)
            mid_release += version_id in watcher.building
            worker.kill()  # the main process and its children: nothing acknowledges
            started = time.monotonic()
            replacement = site.worker(f"w-whole{trial}b", **FAST_RECONCILER)
            _published(site, version_id, watcher)
            resumed_in.append(round(time.monotonic() - started, 1))
            replacement.stop()
    beat.stop()
    figure("published_after_kill_seconds", resumed_in)
    figure("killed_while_building", mid_release)
    assert watcher.violations == []
    _assert_nothing_unlisted(site)


def test_database_connections_cut_mid_release_resume_by_themselves(site: Stack, figure):
    beat = site.beat(**FAST_RECONCILER)
    # Each shard holds its connection for a while after writing, so that on a fast machine
    # too the cut lands mid-release rather than after a small release has finished.
    worker = site.worker("w-pg", RELEASE_STALL_AT="shard_written", **FAST_RECONCILER)
    cut = []
    with VisibilityWatcher(site) as watcher:
        for _ in range(3):
            _next_exclusion(site)
            version_id = watcher.release()
            watcher.wait_for(version_id, {"shards"}, 120)
            terminated = 0
            while not terminated and version_id in watcher.building:
                # Between two tasks a worker may hold no connection: cut the next one.
                terminated = site.terminate_connections()
                time.sleep(0 if terminated else 0.05)
            cut.append(terminated)
            _published(site, version_id, watcher)
    worker.stop()
    beat.stop()
    figure("connections_terminated", cut)
    assert all(cut), cut  # each cut hit the portal's connections mid-release
    assert watcher.violations == []
    _assert_nothing_unlisted(site)
