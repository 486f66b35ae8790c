"""Two worker hosts, each with its own local folders, sharing one S3-compatible store
(moto's server on loopback, through s3fs as in production): one host is lost mid-release,
the other finishes it, and the store holds nothing that no version lists."""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import time
from collections.abc import Iterator

import pytest
import s3fs

from tests.reliability.stack import Stack, free_port, wait_until
from tests.reliability.watch import VisibilityWatcher

pytestmark = pytest.mark.reliability

BUCKET = "portal"
FAST_RECONCILER = {"RELEASE_RECONCILE_SECONDS": "5", "RELEASE_STALE_SECONDS": "10"}
SPEC = {"shards": 4, "rows_per_shard": 15_000, "owners": 300}


@pytest.fixture(scope="module")
def site(stack: Stack) -> Iterator[Stack]:
    # moto's server in a process of its own (as the object store is its own machine), and
    # so off this process's interpreter, where the watcher looks every 50 ms.
    port = free_port()
    server = stack.start(
        "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    )
    credentials = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {key: os.environ.get(key) for key in credentials}
    os.environ.update(credentials)  # the watcher and the scan read the store from here
    s3fs.S3FileSystem.clear_instance_cache()
    wait_until(lambda: _answers(port), 60, "moto's server starts")
    s3fs.S3FileSystem().makedirs(BUCKET, exist_ok=True)
    stack.env.update(credentials, DATASET_STORAGE_ROOT=f"s3://{BUCKET}/datasets")
    stack.drive("dataset", folder=str(stack.folder), spec=SPEC, upload_to=f"s3://{BUCKET}/source")
    stack.pending = stack.drive("seed_requests", count=10, prefix="hosts")  # type: ignore[attr-defined]
    try:
        yield stack
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _host(stack: Stack, name: str):
    """A worker with local folders of its own, as on a separate machine."""
    local = stack.folder / name
    (local / "tmp").mkdir(parents=True, exist_ok=True)
    return stack.worker(
        name, concurrency=1, VAR_DIR=str(local), TMPDIR=str(local / "tmp"), **FAST_RECONCILER
    )


def test_a_host_lost_mid_release_leaves_the_release_to_the_other(site: Stack, figure) -> None:
    beat = site.beat(**FAST_RECONCILER)
    hosts = {"host-a": _host(site, "host-a"), "host-b": _host(site, "host-b")}
    rng = random.Random(17)
    finished_in = []
    published_by: list[bool] = []  # whether the surviving host ran a publish step
    with VisibilityWatcher(site) as watcher:
        for trial, (lost, survivor) in enumerate((("host-a", "host-b"), ("host-b", "host-a"))):
            site.drive("approve", ids=[site.pending.pop()])  # type: ignore[attr-defined]
            version_id = watcher.release()
            step = "shards" if trial == 0 else "publishing"
            seen = watcher.wait_for(version_id, {step}, 120)
            time.sleep(rng.uniform(0, 0.3))
            assert version_id in watcher.building, (seen, watcher.history)
            hosts[lost].kill()  # the whole machine: its worker and its children
            started = time.monotonic()
            assert watcher.wait_for(version_id, set(), 240) == "published"
            finished_in.append(round(time.monotonic() - started, 1))
            assert site.drive("verify", id=version_id)["ok"]
            published_by.append(hosts[survivor].count("release_publish_task[") > 0)
            hosts[lost] = _host(site, f"{lost}-again")
    for process in [beat, *hosts.values()]:
        process.stop()
    figure("published_after_host_lost_seconds", finished_in)
    figure("survivor_ran_publish", published_by)
    assert watcher.violations == []
    unlisted = _unlisted_objects(f"{BUCKET}/datasets/demo")
    figure("objects_no_version_lists", len(unlisted))
    assert unlisted == []


def _unlisted_objects(root: str) -> list[str]:
    """Every object under the dataset's root that no published version lists: its files,
    manifest and marker, and the repository index of each source shard it read."""
    fs = s3fs.S3FileSystem()
    fs.invalidate_cache()
    objects = set(fs.find(root))
    listed = set()
    for marker in fs.glob(f"{root}/*/_COMMITTED"):
        folder = marker.rsplit("/", 1)[0]
        manifest = json.loads(fs.cat_file(f"{folder}/manifest.json"))
        listed |= {f"{folder}/manifest.json", marker}
        listed |= {f"{folder}/{f['path']}" for f in manifest["files"] + manifest["metadata_files"]}
        listed |= {
            f"{root}/.index/{s['fingerprint']}.parquet" for s in manifest["source"]["shards"]
        }
    return sorted(objects - listed)
