"""A watcher that looks at the stack's database and storage every 50 ms, from outside, and
records any moment a reader could have seen something it must never see."""

from __future__ import annotations

import json
import threading
from pathlib import Path

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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> VisibilityWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        connection = self._connect()
        root = Path(self.stack.env["DATASET_STORAGE_ROOT"])
        try:
            while not self._stop.wait(0.05):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT v.id, d.name, v.version, v.status, v.rows_total, "
                        "(SELECT COALESCE(SUM(s.rows_done), 0) FROM governance_shardbuild s "
                        " WHERE s.version_id = v.id) "
                        "FROM governance_datasetversion v JOIN governance_dataset d "
                        "ON d.id = v.dataset_id"
                    )
                    rows = cursor.fetchall()
                self.looks += 1
                self.building = {row[0] for row in rows if row[3] == "building"}
                for version_id, dataset, label, status, total, done in rows:
                    if status == "building" and total:
                        self.max_progress = max(self.max_progress, done / total)
                    if status == "published" and version_id not in self._seen_complete:
                        problem = _incomplete(root / dataset / label)
                        if problem:
                            self.violations.append(f"{dataset} {label} visible but {problem}")
                        else:
                            self._seen_complete.add(version_id)
        finally:
            connection.close()

    def _connect(self) -> psycopg2.extensions.connection:
        # Named, so that cutting the portal's connections leaves the watcher's alone.
        connection = psycopg2.connect(
            dbname=self.stack.db_name, application_name=WATCHER, **self.stack._server
        )
        connection.autocommit = True
        return connection


def _incomplete(folder: Path) -> str:
    if not (folder / "_COMMITTED").exists():
        return "has no _COMMITTED"
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"] + manifest["metadata_files"]}
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    if present != listed | {"manifest.json", "_COMMITTED"}:
        return f"holds {sorted(present ^ (listed | {'manifest.json', '_COMMITTED'}))}"
    return ""
