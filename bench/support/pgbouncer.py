"""PgBouncer in transaction pooling mode in front of a loopback PostgreSQL, as production runs.

Used by ``.ci/run`` (the API tests run through it) and by ``bench/api.py`` (gunicorn serves
through it). Debian's ``pgbouncer`` package; the configuration is written at run time into a
folder of the caller's, and PgBouncer listens on a free loopback port of its own.

    python -m bench.support.pgbouncer start DIR   # prints the port; DIR/pgbouncer.pid
    python -m bench.support.pgbouncer stop DIR

Benchmarks use ``running()``: the PgBouncer ``BENCH_PGBOUNCER_PORT`` names (the one ``.ci/run``
started), or one of their own for the duration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(folder: Path, *, upstream_port: int = 5432, pool_size: int = 20) -> int:
    """Start PgBouncer in the background with its files in ``folder``; its port."""
    if not Path(BINARY).exists():
        raise SystemExit("pgbouncer is not installed: apt-get install pgbouncer")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port={upstream_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
; Django's psycopg2 connections send none of these, but clients such as psql may.
ignore_startup_parameters = extra_float_digits,options
pidfile = {folder / "pgbouncer.pid"}
logfile = {folder / "pgbouncer.log"}
"""
    )
    command = [BINARY, "-d", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command[1:1] = ["-u", "postgres"]
    subprocess.run(command, check=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"pgbouncer did not listen on {port}: {folder / 'pgbouncer.log'}")


def stop(folder: Path) -> None:
    pidfile = folder / "pgbouncer.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


@contextlib.contextmanager
def running() -> Iterator[str]:
    """The port of a PgBouncer in front of the loopback PostgreSQL, for the ``with`` block."""
    if os.environ.get("BENCH_PGBOUNCER_PORT"):
        yield os.environ["BENCH_PGBOUNCER_PORT"]
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer's user reads it
    try:
        yield str(start(folder))
    finally:
        stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    action, where = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        print(start(where))
    else:
        stop(where)
