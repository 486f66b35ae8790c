"""Range files for private lookups: full write, incremental write, serving.

Run with ``make bench`` (or ``.venv/bin/python bench/ranges.py``). It

1. loads (once) 1,000,000 exclusions with their log entries and tree into the database
   ``portal_ranges_bench`` (``BENCH_RANGES_DATABASE_URL``), with ``bench/api.py``'s loader;
2. (a) times ``ranges_publish`` writing every range file of that checkpoint from the
   database into an empty public store (target ≤ 10 s), and, with ``BENCH_TILES=1``, the
   first publication of the log's tiles (for information: minutes at this size);
3. (b) appends 1,000 changes (500 new exclusions, 500 removed) through the real services
   and times ``ranges_publish`` of the resulting checkpoint, ``BENCH_ROUNDS`` times
   (target ≤ 1 s each);
4. (c) starts gunicorn with the production configuration and compares the rate at which
   it serves one range file (``/mirror/ranges/…``, the portal's view) with the rate at
   which it serves a static file of the same bytes (``/static/…``, WhiteNoise), in
   interleaved rounds (target at least 0.9 of it).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench-ranges"
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PORT = int(os.environ.get("BENCH_PORT", "18932"))
DATABASE_URL = os.environ.get(
    "BENCH_RANGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_ranges_bench"
)
ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghij",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "DATABASE_URL": DATABASE_URL,
    "LOG_SIGNING_KEY_FILE": str(BENCH_DIR / "log-signing.key"),
    "VAR_DIR": str(BENCH_DIR),
    "REGISTRY_PUBLIC_ROOT": str(BENCH_DIR / "public"),
    "STATIC_ROOT": str(BENCH_DIR / "static"),
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "governance.settings",
}


def setup() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(ENV)
    os.environ.pop("REDIS_URL", None)  # tasks in-process; the bench calls them itself
    ensure_database(DATABASE_URL)
    key = BENCH_DIR / "log-signing.key"
    import django

    django.setup()
    from django.core.management import call_command

    from registry import checkpoints
    from registry.signing import write_new_signing_key

    if not key.exists():
        write_new_signing_key(key)
    call_command("migrate", verbosity=0)
    # The bench times the publishers itself: nothing is published or exported on commit.
    checkpoints._queue_mirror = lambda size: None
    checkpoints._queue_exports = lambda size: None


def full_write() -> tuple[float, int]:
    from registry.checkpoints import checkpoint_at
    from registry.models import PublishedMirror
    from registry.ranges import ranges_publish
    from registry.selectors import log_size

    size = log_size()
    checkpoint_at(size)
    shutil.rmtree(BENCH_DIR / "public", ignore_errors=True)
    PublishedMirror.objects.filter(name="ranges").delete()
    started = time.perf_counter()
    ranges_publish(size)
    return time.perf_counter() - started, size


def tiles_write(size: int) -> float:
    from registry.models import PublishedMirror
    from registry.tiles import tiles_publish

    PublishedMirror.objects.filter(name="tiles").delete()
    started = time.perf_counter()
    tiles_publish(size)
    return time.perf_counter() - started


def incremental(round_number: int) -> tuple[float, int]:
    from registry.models import Exclusion
    from registry.ranges import ranges_publish
    from registry.selectors import log_size
    from registry.services import exclusion_add_many, exclusion_remove

    tag = f"{round_number}-{time.time_ns()}"
    exclusion_add_many(
        subjects=[("repository", f"github.com/bench{tag}/r{i}") for i in range(500)],
        cause=f"bench:{tag}",
    )
    oldest = Exclusion.objects.filter(active=True).order_by("added_at_index")
    for kind, subject, cause in oldest.values_list("kind", "subject", "cause")[:500]:
        exclusion_remove(kind=kind, subject=subject, cause=cause, reason="bench")
    size = log_size()
    started = time.perf_counter()
    ranges_publish(size)
    return time.perf_counter() - started, size


def serving(size: int) -> list[float]:
    """Ratios (range file ÷ static file, requests/s) of interleaved rounds."""
    from bench import api as api_bench
    from registry import ranges_format
    from registry.public_store import PublicStore

    store = PublicStore()
    manifest = ranges_format.manifest_path(size)
    text = store.read(manifest).decode()
    line = text.split("\n")[4 + 1000]  # one range file, taken from the manifest
    prefix, where, _ = line.split()
    range_path = ranges_format.file_path(prefix, int(where))
    static = BENCH_DIR / "static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store.path(range_path), static / "bench-range.txt")
    print(f"  range file {range_path}: {(static / 'bench-range.txt').stat().st_size:,} bytes")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{PORT}", "--chdir", str(ROOT), "--log-level", "warning",
         "governance.wsgi"],
        env={**os.environ},
    )  # fmt: skip
    api_bench.PORT = PORT
    try:
        _wait()
        ratios = []
        for _ in range(ROUNDS):
            static_rps, _, _ = api_bench._load("/static/bench-range.txt", {})
            range_rps, _, _ = api_bench._load(f"/mirror/{range_path}", {})
            ratios.append(range_rps / static_rps)
            print(f"  static {static_rps:,.0f} req/s, range {range_rps:,.0f} req/s")
        return ratios
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait() -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/static/bench-range.txt")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def main() -> None:
    setup()
    from bench.api import load

    loaded = load(ENTRIES)
    if loaded:
        print(f"loaded {ENTRIES:,} exclusions in {loaded:.1f} s")
    seconds, size = full_write()
    print(f"(a) all ranges at log size {size:,}: {seconds:.2f} s (target ≤ 10 s)")
    if os.environ.get("BENCH_TILES"):  # minutes at 1M entries, so only when asked
        print(f"    the log's tiles written from scratch: {tiles_write(size):.2f} s")
    times = []
    for n in range(ROUNDS):
        seconds, size = incremental(n)
        times.append(seconds)
        print(f"(b) round {n + 1}: 1,000 changes to size {size:,}: {seconds:.3f} s")
    print(f"(b) incremental: median {statistics.median(times):.3f} s, max {max(times):.3f} s "
          "(target ≤ 1 s)")  # fmt: skip
    ratios = serving(size)
    print(
        f"(c) range file ÷ static file: median {statistics.median(ratios):.2f} "
        f"({min(ratios):.2f} to {max(ratios):.2f}) (target ≥ 0.9)"
    )


if __name__ == "__main__":
    main()
