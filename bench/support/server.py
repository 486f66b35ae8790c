"""gunicorn with the production configuration (``gunicorn.conf.py``) on a loopback port, for
the benchmarks that measure what production serves (``bench/api.py``, ``bench/load.py``)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def gunicorn(app: str, *, port: int, env: dict[str, str], ready: str) -> Iterator[subprocess.Popen]:
    """Serve ``app`` (gunicorn's ``module:callable``) on ``127.0.0.1:port`` with ``env``
    for the ``with`` block, once ``GET ready`` answers 200; stopped on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning", app],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(150):
            if process.poll() is not None:
                raise SystemExit(f"gunicorn stopped with status {process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", ready)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
