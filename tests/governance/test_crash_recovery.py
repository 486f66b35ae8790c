"""A hard exit at each named step of a release, then recovery: a correct version, no partial one.

Each case copies a prepared site (SQLite file, key, version 1.0.0 published, one new
exclusion approved), runs release 1.0.1 in a subprocess that ``os._exit``s at the step,
then runs the reconciler in a fresh process. The result must equal a release that never
crashed: the same manifest bytes, verification passing, requests applied, and no
staging, work or half-written folder left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from governance.releases.crash import CRASH_EXIT_CODE, CRASH_STEPS

ROOT = Path(__file__).resolve().parents[2]


def _run(workdir: Path, action: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "RELEASE_CRASH_AT"}
    }
    env.update(
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="governance.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        VAR_DIR=str(workdir / "var"),
        DATASET_STORAGE_ROOT=str(workdir / "datasets"),
        LOG_SIGNING_KEY_FILE=str(workdir / "log-signing.key"),
    )
    if crash_at:
        env["RELEASE_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "tests.governance.crash_runner", str(workdir), action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("crash-template")
    result = _run(workdir, "prepare")
    assert result.returncode == 0, result.stderr
    return workdir


@pytest.fixture(scope="module")
def reference(prepared: Path, tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("crash-reference") / "site"
    shutil.copytree(prepared, workdir, symlinks=True)
    assert _run(workdir, "release").returncode == 0
    result = _run(workdir, "recover")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _copy_site(prepared: Path, target: Path) -> Path:
    # The source shards stay where make_dataset put them (the dataset row names them);
    # storage, database and key are per copy.
    shutil.copytree(prepared, target, ignore=shutil.ignore_patterns("source"))
    return target


@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_crash_at_each_step_recovers_to_the_same_version(
    step: str, prepared: Path, reference: dict, tmp_path: Path
) -> None:
    workdir = _copy_site(prepared, tmp_path / "site")
    crashed = _run(workdir, "release", crash_at=step)
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr

    result = _run(workdir, "recover")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])

    assert report == reference
    assert report["versions"]["1.0.1"]["status"] == "published"
    assert report["versions"]["1.0.1"]["verified"] is True
    assert report["requests"] == ["applied", "applied"]
    # Only the kept repository indexes and the two versions; the internal folders are empty.
    assert report["folders"] == [
        ".index",
        ".staging",
        ".work",
        "1.0.0",
        "1.0.0/data",
        "1.0.1",
        "1.0.1/data",
    ]
    manifest = workdir / "datasets" / "demo" / "1.0.1" / "manifest.json"
    assert (
        hashlib.sha256(manifest.read_bytes()).hexdigest()
        == report["versions"]["1.0.1"]["manifest_sha256"]
    )
