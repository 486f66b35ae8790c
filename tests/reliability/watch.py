"""A watcher that looks at the stack's database and storage every 50 ms, from outside, and
records any moment a reader could have seen something it must never see."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import fsspec
import psycopg2

from tests.reliability.stack import Stack

WATCHER = "reliability-watcher"


class VisibilityWatcher:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.violations: list[str] = []
        self.looks = 0
        self.max_progress = 0.0
        self._seen_complete: set[int] = set()
        self.building: set[int] = set()  # versions building at the last look
        self.steps: dict[int, str] = {}  # each version's status, or step while building
        self.history: list[tuple[float, int, str]] = []  # (when, version, state) changes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._started: list[tuple[int, Future]] = []

    def __enter__(self) -> VisibilityWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        for version_id, started in self._started:
            assert started.result(timeout=120) == version_id
        self._pool.shutdown()

    def _run(self) -> None:
        connection = self._connect()
        # A local folder or an object store (the two-hosts test), through fsspec as the
        # portal itself reads it.
        fs, root = fsspec.core.url_to_fs(self.stack.env["DATASET_STORAGE_ROOT"])
        try:
            while not self._stop.wait(0.05):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT v.id, d.name, v.version, v.status, v.step, v.rows_total, "
                        "(SELECT COALESCE(SUM(s.rows_done), 0) FROM governance_shardbuild s "
                        " WHERE s.version_id = v.id) "
                        "FROM governance_datasetversion v JOIN governance_dataset d "
                        "ON d.id = v.dataset_id"
                    )
                    rows = cursor.fetchall()
                self.looks += 1
                self.building = {row[0] for row in rows if row[3] == "building"}
                steps = {row[0]: row[4] if row[3] == "building" else row[3] for row in rows}
                for version_id, state in steps.items():
                    if self.steps.get(version_id) != state:
                        self.history.append((round(time.monotonic(), 2), version_id, state))
                self.steps = steps
                for version_id, dataset, label, status, _step, total, done in rows:
                    if status == "building" and total:
                        self.max_progress = max(self.max_progress, done / total)
                    if status == "published" and version_id not in self._seen_complete:
                        problem = _incomplete(fs, f"{root}/{dataset}/{label}")
                        if problem:
                            self.violations.append(f"{dataset} {label} visible but {problem}")
                        else:
                            self._seen_complete.add(version_id)
        finally:
            connection.close()

    def release(self, **args: object) -> int:
        """Start a release through the driver and return its version's id as soon as the
        watcher sees it: the driver's process may take seconds more to exit, long enough
        for a small release to finish."""
        known = set(self.steps)
        started = self._pool.submit(self.stack.drive, "release", **args)
        deadline = time.monotonic() + 120
        while not (new := set(self.steps) - known) and time.monotonic() < deadline:
            if started.done():
                started.result()  # raises what the driver raised
                break
            time.sleep(0.02)
        assert new, "no new version seen within 120 s"
        (version_id,) = new
        self._started.append((version_id, started))
        return version_id

    def wait_for(self, version_id: int, states: set[str], timeout: float) -> str:
        """Wait until the version is in one of ``states`` (a step while building, else its
        status) or has left building; what it was then. A bound, not a timing assertion."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.steps.get(version_id)
            if state in states or state in {"published", "failed"}:
                return state
            time.sleep(0.02)
        raise AssertionError(f"version {version_id}: not {states} within {timeout:.0f} s")

    def _connect(self) -> psycopg2.extensions.connection:
        # Named, so that cutting the portal's connections leaves the watcher's alone.
        connection = psycopg2.connect(
            dbname=self.stack.db_name, application_name=WATCHER, **self.stack._server
        )
        connection.autocommit = True
        return connection


def _incomplete(fs: fsspec.AbstractFileSystem, folder: str) -> str:
    fs.invalidate_cache()
    if not fs.exists(f"{folder}/_COMMITTED"):
        return "has no _COMMITTED"
    manifest = json.loads(fs.cat_file(f"{folder}/manifest.json"))
    listed = {f["path"] for f in manifest["files"] + manifest["metadata_files"]}
    present = {path[len(folder) + 1 :] for path in fs.find(folder)}
    if present != listed | {"manifest.json", "_COMMITTED"}:
        return f"holds {sorted(present ^ (listed | {'manifest.json', '_COMMITTED'}))}"
    return ""
