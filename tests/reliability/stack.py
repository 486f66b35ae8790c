"""The portal's real processes, started and hurt by the reliability tests.

A ``Stack`` is one deployment on loopback: a database of its own on the PostgreSQL server,
a Redis server of its own (so stopping it hurts nobody else), and on demand gunicorn,
Celery workers and beats, each a separate process with the environment production uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import psycopg2
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy; a bound on waiting, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


class Process:
    """A child process whose output is kept, line by line."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.popen.pid).children()
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """``kill -9`` the process and everything it started, as a lost machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = Process(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            dict(os.environ),
            "redis",
        )
        wait_until(self.answers, 30, "redis-server starts")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None


class Stack:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.redis = RedisServer(folder)
        self.redis.start()
        db = settings.DATABASES["default"]
        self._server = {
            "host": db["HOST"] or "127.0.0.1",
            "port": db["PORT"] or 5432,
            "user": db["USER"],
            "password": db["PASSWORD"] or None,
        }
        self.db_name = f"portal_rel_{uuid.uuid4().hex[:10]}"
        self._admin_sql(f'CREATE DATABASE "{self.db_name}"')
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        self.queue = f"rel-{uuid.uuid4().hex[:8]}"
        self.web_port = free_port()
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CELERY_", "RELEASE_CRASH", "PYTEST"))
        }
        self.env.update(
            DEBUG="true",
            DJANGO_SETTINGS_MODULE="governance.settings",
            DATABASE_URL=(
                f"postgres://{db['USER']}{password}@{self._server['host']}:"
                f"{self._server['port']}/{self.db_name}"
            ),
            REDIS_URL=self.redis.url,
            CELERY_QUEUE=self.queue,
            DATASET_STORAGE_ROOT=str(folder / "datasets"),
            VAR_DIR=str(folder / "var"),
            LOG_SIGNING_KEY_FILE=str(folder / "log-signing.key"),
            EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
            WEB_BIND=f"127.0.0.1:{self.web_port}",
            WEB_CONCURRENCY="2",
            WEB_THREADS="4",
            PYTHONUNBUFFERED="1",
        )
        self.processes: list[Process] = []
        self._driver: subprocess.Popen | None = None
        self._driver_env: dict[str, str] = {}
        self._driver_lock = threading.Lock()
        self.drive("setup")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _admin_sql(self, sql: str, params: tuple = ()) -> list[tuple]:
        connection = psycopg2.connect(dbname="postgres", **self._server)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def terminate_connections(self, spare: str = "reliability-watcher") -> int:
        """``pg_terminate_backend`` every connection of the portal's processes to this
        stack's database (the test's own watcher, named ``spare``, is left alone)."""
        rows = self._admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name <> %s",
            (self.db_name, spare),
        )
        return len(rows)

    def drive(self, action: str, **args: Any) -> Any:
        """Run one Django-side step (``driver.py``) in a fresh process of the stack."""
        with self._driver_lock:
            if self._driver is None or self._driver_env != self.env:
                self._stop_driver()
                self._driver_env = dict(self.env)
                self._driver = subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability.driver"],
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=open(self.folder / "driver.log", "a"),  # noqa: SIM115
                    text=True,
                )
            request = json.dumps({"action": action, "args": args})
            self._driver.stdin.write(request + "\n")  # type: ignore[union-attr]
            self._driver.stdin.flush()  # type: ignore[union-attr]
            ready, _, _ = select.select([self._driver.stdout], [], [], 600)
            line = self._driver.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not line:
            self._stop_driver()
            raise AssertionError(f"driver {action}: no answer; see {self.folder}/driver.log")
        answer = json.loads(line)
        assert "error" not in answer, f"driver {action} failed:\n{answer['error'][-4000:]}"
        return answer["result"]

    def _stop_driver(self) -> None:
        if self._driver is not None:
            self._driver.kill()
            self._driver.wait(timeout=30)
            self._driver = None

    def start(self, name: str, args: list[str], **env: str) -> Process:
        process = Process(args, {**self.env, **env}, name)
        self.processes.append(process)
        return process

    def worker(
        self, name: str = "w1", concurrency: int = 2, include: str = "", **env: str
    ) -> Process:
        """A worker; ``include`` names test-only task modules it imports as well."""
        process = self.start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "governance",
                "worker",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "-Q",
                self.queue,
                "-n",
                f"{name}-{self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                *(["--include", include] if include else []),
            ],
            **env,
        )
        wait_until(
            lambda: process.count(" ready.") or process.popen.poll() is not None,
            90,
            f"worker {name} starts",
        )
        assert process.popen.poll() is None, process.log()
        return process

    def beat(self, name: str = "beat", **env: str) -> Process:
        schedule = self.folder / f"{name}-schedule"
        return self.start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "governance",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(schedule),
            ],
            **env,
        )

    def web(self) -> Process:
        process = self.start("web", [sys.executable, "-m", "gunicorn", "governance.wsgi"])
        wait_until(lambda: _answers(self.base_url + "/healthz"), 60, "gunicorn starts")
        return process

    def close(self) -> None:
        self._stop_driver()
        for process in self.processes:
            process.kill()
        self.redis.stop()
        self._admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False
