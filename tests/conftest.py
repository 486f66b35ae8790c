"""Suite-wide fixtures: which real services are here, and a real Celery worker.

- With DATABASE_URL on PostgreSQL and REDIS_URL set, tests marked ``worker`` run their
  tasks through a separate ``celery worker`` process consuming from Redis.
- Without them they are skipped with a visible reason, except under ``CI=true``, where a
  missing service fails the whole run at start-up instead.
- Every other test runs tasks in-process (``task_always_eager``), so nothing is left
  queued in Redis for a worker that will never come.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from governance.celery import app as celery_app
from registry.signing import write_new_signing_key

ROOT = Path(__file__).resolve().parent.parent


def _missing_services() -> list[str]:
    missing = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("PostgreSQL (set DATABASE_URL=postgres://…)")
    if not settings.REDIS_URL:
        missing.append("Redis (set REDIS_URL=redis://…)")
    else:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            missing.append(f"Redis at {settings.REDIS_URL} ({exc})")
    return missing


MISSING_SERVICES = _missing_services()

# A run never sees cache entries (throttle counters) of an earlier run on the same Redis,
# in any thread, including the live test server's request threads.
settings.CACHES["default"]["KEY_PREFIX"] = f"test-run-{uuid.uuid4().hex[:12]}"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") == "true" and MISSING_SERVICES:
        raise pytest.UsageError(
            "CI=true requires the real services, but these are missing: "
            + "; ".join(MISSING_SERVICES)
        )


def pytest_report_header(config: pytest.Config) -> str:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    worker = (
        "real Celery worker" if not MISSING_SERVICES else "skipped: " + "; ".join(MISSING_SERVICES)
    )
    return f"database: {engine}; worker tests: {worker}"


# The reliability suite's measured figures, printed at the end of the run in the order their
# tests ran. Each travels in its test's report (a user property), so xdist's processes send
# them to the one that prints.
FIGURE = "reliability figure"
FIGURES: list[str] = []


@pytest.fixture
def figure(request: pytest.FixtureRequest):
    """Record a measured figure, printed with the others at the end of the run."""

    def record(name: str, value: object) -> None:
        request.node.user_properties.append((FIGURE, f"{request.node.name}: {name} = {value}"))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        FIGURES.extend(text for key, text in report.user_properties if key == FIGURE)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not MISSING_SERVICES:
        return
    skip = pytest.mark.skip(reason="needs " + " and ".join(MISSING_SERVICES))
    for item in items:
        if "worker" in item.keywords or "reliability" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path: Path) -> None:
    """Each test writes dataset versions and keys under its own temporary folder."""
    settings.DATASET_STORAGE_ROOT = str(tmp_path / "datasets")
    settings.LOG_SIGNING_KEY_FILE = tmp_path / "log-signing.key"
    write_new_signing_key(settings.LOG_SIGNING_KEY_FILE)  # DEBUG is off in tests: no auto-key
    settings.VAR_DIR = tmp_path


@pytest.fixture(autouse=True)
def _fresh_cache_namespace() -> Iterator[None]:
    """Cache-backed counters (rate limits, the optout submission throttles) start from zero
    in each test."""
    from django.core.cache import cache

    previous = cache.key_prefix
    cache.key_prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield
    cache.key_prefix = previous


@pytest.fixture
def cache_down(settings) -> None:
    """The cache is a Redis nobody listens on (Django rebuilds its caches on this change),
    for the rate limits' fallback: what is counted there is let through uncounted."""
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }


@pytest.fixture(autouse=True)
def _eager_tasks_unless_worker(request: pytest.FixtureRequest) -> Iterator[None]:
    eager = "worker" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


def _database_url_for_worker() -> str:
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


class WorkerProcess:
    def __init__(
        self, process: subprocess.Popen, queue: str, storage_root: Path, var_dir: Path
    ) -> None:
        self.process = process
        self.queue = queue
        self.storage_root = storage_root
        self.var_dir = var_dir  # the worker's VAR_DIR (materialised exports live under it)
        self.output: list[str] = []

    def log(self) -> str:
        return "".join(self.output)


# The worker's forge for optout's verification tests: one loopback git server for the
# session, handed to the worker through the environment like any production forge.
WORKER_GIT_HOST = "git.worker.loopback.test"


def worker_forges_json(base_url: str) -> str:
    forge = {
        "host": WORKER_GIT_HOST,
        "web_base_url": base_url,
        "name_rules": "github",
        "label": "Loopback git (worker)",
    }
    return json.dumps([forge])


@pytest.fixture(scope="session")
def worker_git_server(tmp_path_factory) -> Iterator[object]:
    """``git http-backend`` on loopback for the whole session (see tests/optout/servers.py)."""
    from tests.optout.servers import GitServer

    server = GitServer(root=tmp_path_factory.mktemp("worker-git"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup, django_db_blocker, tmp_path_factory, worker_git_server
) -> Iterator[WorkerProcess]:
    """A ``celery worker`` process on the test database, consuming a queue of its own."""
    if MISSING_SERVICES:
        pytest.skip("needs " + " and ".join(MISSING_SERVICES))
    queue = f"tests-{uuid.uuid4().hex[:12]}"
    storage_root = tmp_path_factory.mktemp("worker-datasets")
    var_dir = tmp_path_factory.mktemp("worker-var")
    with django_db_blocker.unblock():
        database_url = _database_url_for_worker()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "CELERY_QUEUE": queue,
        "DATASET_STORAGE_ROOT": str(storage_root),
        "VAR_DIR": str(var_dir),
        "LOG_SIGNING_KEY_FILE": str(tmp_path_factory.mktemp("worker-key") / "log-signing.key"),
        "OPTOUT_OUTBOUND_ALLOW_LOOPBACK": "true",
        "REGISTRY_EXTRA_FORGES": worker_forges_json(worker_git_server.base_url),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "governance",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = WorkerProcess(process, queue, storage_root, var_dir)
    ready = threading.Event()

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            worker.output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while not ready.is_set() and process.poll() is None and time.monotonic() < deadline:
        ready.wait(0.2)
    if not ready.is_set():
        process.kill()
        pytest.fail(f"The Celery worker did not start:\n{worker.log()}")

    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    celery_app.amqp.__dict__.pop("queues", None)  # rebuilt from the new default queue
    try:
        yield worker
    finally:
        celery_app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
