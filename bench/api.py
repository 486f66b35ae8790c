"""Pipeline API benchmark: 1,000,000 exclusions in PostgreSQL, served by gunicorn.

Run with ``make bench`` (or ``.venv/bin/python bench/api.py``). It

1. creates (once) the database ``portal_registry_bench`` (or ``BENCH_DATABASE_URL``) and
   bulk-loads 1,000,000 log entries with their Merkle nodes by COPY, then appends and
   removes through the real services, timing each append at that size;
2. starts gunicorn on 127.0.0.1 serving the portal plus ``/bench/minimal``, a minimal
   Django view behind the same middleware, with the same gunicorn configuration, talking to
   PostgreSQL through PgBouncer in transaction pooling mode as production does (the one
   ``.ci/run`` started, ``BENCH_PGBOUNCER_PORT``, or one of its own:
   ``bench/support/pgbouncer.py``);
3. measures the single check (p99 and errors at 16 connections) and the export's 304 path,
   with their ratios to the minimal view (wrk when installed, else a Python load
   generator); the gunicorn workers' RSS after the checks, against the same run at 10,000
   exclusions (part ``memory``); the full export in every format with the
   workers' RSS growth against a 10k-entry export, then each format again at a checkpoint
   40 changes later (derived from the files just written: ``registry.export_derive``),
   the 10,000-repository bulk check and inclusion and consistency proofs over HTTP, and
   prints every figure with its target;
4. signs a new checkpoint, lets a real Celery worker precompute its exports (the task queued
   when a checkpoint is signed), and measures what a pipeline then gets over HTTP.

The throughput runs are interleaved: ``BENCH_ROUNDS`` rounds (default 3), each running the
minimal view, then the check, then the 304 for ``BENCH_SECONDS`` (default 5) each. A ratio
is taken within each round and the median is printed with its range, so a machine whose
speed drifts during the run (shared hosts do, by 2x here) moves both sides of a ratio.
``BENCH_ENTRIES`` changes the log size (default 1,000,000).
``--only PART[,PART…]`` runs some parts (check, not-modified, memory, exports, precompute,
bulk, proofs); the default is all. It exits non-zero when a load test saw an error.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import io
import json
import os
import random
import re
import runpy
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, pgbouncer, server  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
EXPORTS = BENCH_DIR / "datasets" / ".exports"  # the export store (registry.export_store)
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "1000000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 16
PORT = int(os.environ.get("BENCH_PORT", "18931"))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_registry_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")

# Production-like settings, the same for this process and for gunicorn.
ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghij",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "LOG_SIGNING_KEY_FILE": str(BENCH_DIR / "log-signing.key"),
    "VAR_DIR": str(BENCH_DIR),
    "API_ANON_RATE": "1000000000/minute",  # throttling still runs, but never refuses
    "API_TOKEN_RATE": "1000000000/minute",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "governance.settings",
    # The exports task queued by each checkpoint goes to a queue of the bench's own; the
    # bench purges it, and consumes it with its own worker in the precompute part.
    "CELERY_QUEUE": "bench-api",
}
PARTS = ("check", "not-modified", "memory", "exports", "precompute", "bulk", "proofs")
SMALL = 10_000  # exclusions of the run the memory part compares worker RSS with


# --- the bench's WSGI app: the portal plus a minimal view ---------------------------------


def make_application():
    """gunicorn's app factory: the portal with ``/bench/minimal`` added to its URLs."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.api"
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def __getattr__(name: str):
    # ``urlpatterns`` is built on first use, once Django is set up inside gunicorn.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.http import HttpResponse
    from django.urls import include, path

    def minimal(request):
        return HttpResponse(b'{"ok": true}', content_type="application/json")

    return [path("bench/minimal", minimal), path("", include("governance.urls"))]


# --- loading -----------------------------------------------------------------------------


def _copy(cursor, table: str, columns: list[str], rows: list[str]) -> None:
    cursor.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO("".join(rows))
    )


def check_paths(size: int, count: int = 3_000) -> list[str]:
    """Single checks of ``count`` different repositories, in a fixed random order: a third
    excluded by name, a third under an excluded namespace, a third not excluded."""
    rng = random.Random(11)
    paths = []
    for n in range(count):
        i = rng.randrange(min(size, ENTRIES))
        if n % 3 == 0:
            repo = subject_of(i - i % 10 + 1)[1]  # a repository entry
        elif n % 3 == 1:
            repo = f"{subject_of(i - i % 10)[1]}/project-{n}"  # under a namespace entry
        else:
            repo = f"github.com/unlisted{i}/repo{n}"
        paths.append(f"/api/v1/check?repo={repo}")
    return paths


def subject_of(i: int) -> tuple[str, str]:
    if i % 10 == 0:
        return "namespace", f"github.com/ns{i}"
    return "repository", f"github.com/owner{i % 50_000}/repo{i}"


def load(entries: int) -> float:
    """Bulk-load ``entries`` adds with their tree; returns seconds (0 when already there)."""
    from django.db import connection, transaction

    from registry import merkle
    from registry.log import leaf_text
    from registry.models import LogHead

    head = LogHead.objects.filter(id=1).first()
    if head is not None and head.size >= entries:
        return 0.0
    import datetime as dt

    started = time.perf_counter()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    stamp = "2026-01-01 00:00:00+00"
    frontier: list[bytes] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE registry_exclusion, registry_logentry, registry_merklenode, "
            "registry_signedcheckpoint, registry_loghead"
        )
        chunk = 100_000
        for start in range(0, entries, chunk):
            exclusions, logs, nodes = [], [], []
            for i in range(start, min(start + chunk, entries)):
                kind, subject = subject_of(i)
                text = leaf_text(
                    index=i, action="add", kind=kind, subject=subject, cause=f"bench:{i}", at=at
                )
                exclusions.append(
                    f"{kind}\t{subject}\tt\tbench:{i}\t{stamp}\t{stamp}\t\t{i}\t\\N\n"
                )
                escaped = text.replace("\t", "\\t")  # COPY's text format escapes tabs
                logs.append(f"{i}\tadd\t{kind}\t{subject}\tbench:{i}\t{stamp}\t{escaped}\n")
                frontier, created = merkle.frontier_append(
                    frontier, i, merkle.leaf_hash(text.encode())
                )
                nodes.extend(f"{p}\t\\\\x{h.hex()}\n" for p, h in created)
            _copy(
                cursor,
                "registry_exclusion",
                ["kind", "subject", "active", "cause", "created_at", "updated_at",
                 "removed_reason", "added_at_index", "removed_at_index"],
                exclusions,
            )  # fmt: skip
            _copy(
                cursor,
                "registry_logentry",
                ["index", "action", "kind", "subject", "cause", "created_at", "leaf"],
                logs,
            )
            _copy(cursor, "registry_merklenode", ["position", "hash"], nodes)
            print(f"  loaded {min(start + chunk, entries):,} entries", flush=True)
        LogHead.objects.create(id=1, size=entries, frontier=merkle.pack_hashes(frontier))
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


# --- measuring ---------------------------------------------------------------------------


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class CpuMeter:
    """CPU seconds spent by the server side: gunicorn's processes, PostgreSQL's backends
    serving the bench's database, Redis.

    Throughput on a shared host drifts with its neighbours; the CPU a request costs the
    processes that serve it drifts much less, so it is printed beside each ratio.
    """

    GROUPS = ("app", "postgres", "redis")

    def __init__(self, gunicorn_pid: int) -> None:
        self.gunicorn_pid = gunicorn_pid

    def _processes(self):
        import psutil

        master = psutil.Process(self.gunicorn_pid)
        found = {"app": [master, *master.children(recursive=True)], "postgres": [], "redis": []}
        database = DATABASE_URL.rsplit("/", 1)[1]
        for process in psutil.process_iter(["name", "cmdline"]):
            name = process.info["name"] or ""
            if name.startswith("postgres"):  # the bench's backends, not other databases'
                if f" {database} " in " ".join(process.info["cmdline"] or []):
                    found["postgres"].append(process)
            elif name.startswith("redis-server"):
                found["redis"].append(process)
        return found

    def read(self) -> dict[str, float]:
        import psutil

        totals = dict.fromkeys(self.GROUPS, 0.0)
        for group, processes in self._processes().items():
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.Error:  # a backend that just exited
                    continue
                totals[group] += times.user + times.system
        return totals


CPU_METER: CpuMeter | None = None


def load_test(
    path: str | list[str], headers: dict[str, str]
) -> tuple[float, float, dict[str, float]]:
    """Requests per second, p99 latency (ms) at 16 connections, and server CPU µs a request;
    with a list of paths, each request takes the next one."""
    before = CPU_METER.read() if CPU_METER else {}
    rps, p99, requests = _load(path, headers)
    after = CPU_METER.read() if CPU_METER else {}
    cpu = {group: (after[group] - before[group]) / requests * 1e6 for group in after}
    return rps, p99, cpu


def _load(path: str | list[str], headers: dict[str, str]) -> tuple[float, float, int]:
    if shutil.which("wrk"):
        args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        if isinstance(path, list):
            args += ["-s", str(_wrk_script(path))]
            path = path[0]
        out = subprocess.run(
            [*args, f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True, check=True
        ).stdout
        if "Non-2xx or 3xx responses" in out:
            raise SystemExit(f"wrk saw errors on {path}:\n{out}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"99%\s+([\d.]+(?:us|ms|s))", out).group(1))  # type: ignore[union-attr]
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        return rps, p99, requests
    return _python_load_test(path, headers)


def _wrk_script(paths: list[str]) -> Path:
    """A wrk script whose requests go through ``paths`` in turn, each thread from its own
    place in the list."""
    script = BENCH_DIR / "paths.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)  # JSON strings are Lua strings here
    script.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal next_path = 0\n"
        "function setup(thread) thread:set('start', math.random(#paths)) end\n"
        "function init(args) next_path = start end\n"
        "function request()\n  next_path = next_path % #paths + 1\n"
        "  return wrk.format('GET', paths[next_path])\nend\n"
    )
    return script


def _python_load_test(path: str | list[str], headers: dict[str, str]) -> tuple[float, float, int]:
    """Fallback: 16 threads with keep-alive connections (slower than wrk: it shares CPU)."""
    import itertools
    import threading

    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + SECONDS
    paths = path if isinstance(path, list) else [path]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT)
        local = []
        turns = itertools.cycle(paths)
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                conn.request("GET", next(turns), headers=headers)
                response = conn.getresponse()
                body = response.read()
            except OSError as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT)
                continue
            if response.status not in (200, 304):
                errors.append(f"{response.status} {body[:200]!r}")
            local.append((time.perf_counter() - t) * 1000)
        latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} errors on {paths[0]}, e.g. {errors[0]}")
    return len(latencies) / SECONDS, percentile(latencies, 0.99), len(latencies)


def request(method: str, path: str, headers: dict[str, str], body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    conn.request(method, path, body=body, headers=headers)
    return conn, conn.getresponse()


def timed_export(path: str, headers: dict[str, str]) -> tuple[float, int, float]:
    """Seconds to the last byte, bytes, and the server's CPU seconds (gunicorn and
    PostgreSQL: on a shared host they drift less than the wall clock) of a streamed export."""
    before = CPU_METER.read() if CPU_METER else {}
    started = time.perf_counter()
    conn, response = request("GET", path, headers)
    assert response.status == 200, (response.status, response.read()[:300])
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
    conn.close()
    seconds = time.perf_counter() - started
    after = CPU_METER.read() if CPU_METER else {}
    return seconds, size, sum(after[g] - before[g] for g in after if g != "redis")


def worker_rss(master: int) -> dict[int, int]:
    import psutil

    return {p.pid: p.memory_info().rss for p in psutil.Process(master).children()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default: all)",
    )
    parts = set(parser.parse_args().only.split(","))
    if not parts <= set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(parts - set(PARTS)))}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so gunicorn is stopped below
    os.environ.update(ENV)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from registry.checkpoints import checkpoint_at, checkpoint_latest
    from registry.selectors import log_size
    from registry.services import exclusion_add, exclusion_remove
    from registry.signing import write_new_signing_key
    from registry.tokens import token_create

    if not Path(ENV["LOG_SIGNING_KEY_FILE"]).exists():
        write_new_signing_key(Path(ENV["LOG_SIGNING_KEY_FILE"]))
    call_command("migrate", verbosity=0)
    shutil.rmtree(EXPORTS, ignore_errors=True)  # measure cold exports too
    print(f"== loading {ENTRIES:,} exclusions into {DATABASE_URL}")
    seconds = load(ENTRIES)
    print(f"  bulk load: {seconds:.1f} s" if seconds else "  already loaded")

    appends = []
    base = log_size()
    for i in range(50):  # real appends at 1M entries: entry, nodes, head and a signed checkpoint
        t = time.perf_counter()
        kind, subject = subject_of(ENTRIES + base + i)
        exclusion_add(kind=kind, subject=subject + "-late", cause="bench:late")
        appends.append((time.perf_counter() - t) * 1000)
    for i in range(1, 50, 2):
        t = time.perf_counter()
        kind, subject = subject_of(i)
        exclusion_remove(kind=kind, subject=subject, cause="bench:remove", reason="bench")
        appends.append((time.perf_counter() - t) * 1000)
    checkpoint_at(10_000)  # a small signed checkpoint, for the RSS baseline export
    purge_export_tasks()  # each append queued one; the precompute part runs its own
    from django.db import connection

    with connection.cursor() as cursor:  # as autovacuum would: index-only scans need it
        cursor.execute("VACUUM ANALYZE registry_exclusion")
    size = log_size()
    latest = checkpoint_latest()
    _, token = token_create(name="bench", scopes=["registry:read"])
    auth = {"Authorization": f"Api-Key {token}"}
    print(f"  log size {size:,}; append p50 {statistics.median(appends):.1f} ms, "
          f"max {max(appends):.1f} ms (each signs a checkpoint)")  # fmt: skip

    try:
        with pgbouncer.running() as bouncer_port:
            served_from = re.sub(r":\d+/", f":{bouncer_port}/", DATABASE_URL)  # same database
            print(f"  gunicorn talks to PostgreSQL through PgBouncer (transaction pooling) "
                  f"on {bouncer_port}")  # fmt: skip
            env = {**os.environ, **ENV, "DATABASE_URL": served_from}
            with server.gunicorn(
                "bench.api:make_application()", port=PORT, env=env, ready="/bench/minimal"
            ) as gunicorn:
                global CPU_METER
                CPU_METER = CpuMeter(gunicorn.pid)
                results = measure(auth, size, latest, gunicorn.pid, parts)
            # the memory part's second run serves next, with its own gunicorn
            if "memory" in parts and ENTRIES > SMALL:
                results["small_rss_mb"] = _small_run_rss(bouncer_port)
    finally:
        purge_export_tasks()
    report(results, size)


RSS_LINE = "worker RSS after the checks"


def _small_run_rss(bouncer_port: str) -> float:
    """The same gunicorn, serving the same checks from a registry of ``SMALL`` exclusions
    (a database of its own): the largest worker's RSS afterwards, in MB."""
    print(f"== the memory part again at {SMALL:,} exclusions")
    out = subprocess.run(
        [sys.executable, __file__, "--only", "memory"],
        env={**os.environ, "BENCH_ENTRIES": str(SMALL), "BENCH_ROUNDS": "1",
             "BENCH_DATABASE_URL": f"{DATABASE_URL}_small", "BENCH_PORT": str(PORT + 1),
             "BENCH_PGBOUNCER_PORT": bouncer_port},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(re.search(RSS_LINE + r"\s+([\d.]+) MB", out).group(1))  # type: ignore[union-attr]


def purge_export_tasks() -> None:
    from governance.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(ENV["CELERY_QUEUE"])


@functools.cache
def _gunicorn_config() -> dict:
    """What gunicorn.conf.py sets on this machine (workers, threads, worker class)."""
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def _gunicorn_shape() -> str:
    config = _gunicorn_config()
    return f"{config['workers']} workers x {config['threads']} threads, {config['worker_class']}"


def measure(auth: dict[str, str], size: int, latest, master: int, parts: set[str]) -> dict:
    r: dict = {}
    from registry.models import Exclusion
    from registry.selectors import in_force_at

    r["entries_in_force"] = Exclusion.objects.filter(in_force_at(size)).count()
    load_test("/bench/minimal", {})  # warm every worker
    targets = {"minimal": ("/bench/minimal", {})}
    if parts & {"check", "memory"}:
        targets["check"] = ("/api/v1/check?repo=github.com/ns120/some-repo", {})
        targets["check_many"] = (check_paths(size), {})
    if "not-modified" in parts:
        _, first = request("GET", "/api/v1/exclusions/export?format=txt&size=10000", auth)
        first.read()
        etag_url = "/api/v1/exclusions/export?format=txt"
        conn, response = request("GET", etag_url, {**auth, "If-None-Match": '"x"'})
        etag = response.getheader("ETag")
        response.close()
        conn.close()
        targets["not_modified"] = (etag_url, {**auth, "If-None-Match": etag})
    r["rounds"] = [
        {name: load_test(path, headers) for name, (path, headers) in targets.items()}
        for _ in range(ROUNDS)
    ]
    r["rss_mb"] = max(worker_rss(master).values()) / 2**20
    if "exports" in parts:
        measure_exports(r, auth, master)
    if "precompute" in parts:
        measure_precompute(r, auth)
    rng = random.Random(7)
    if "bulk" in parts:
        measure_bulk(r, auth, rng)
    if "proofs" in parts:
        measure_proofs(r, auth, size, rng)
    return r


def measure_exports(r: dict, auth: dict[str, str], master: int) -> None:
    for _ in range(4):  # both workers serve a 10k export first: the RSS baseline
        timed_export("/api/v1/exclusions/export?format=txt&size=10000", auth)
    baseline = worker_rss(master)
    # Its file would be the base of the next export (registry.export_derive): cold means
    # from the database here.
    for small in EXPORTS.glob("10000-*"):
        small.unlink()
    exports, growth = {}, {}
    # txt+gzip first: once the plain txt file exists, a gzip request is compressed from it
    # and would no longer measure the database.
    variants = [("txt", {"Accept-Encoding": "gzip"})]
    variants += [(fmt, {}) for fmt in ("txt", "ndjson", "csv", "parquet")]
    for fmt, extra in variants:
        name = fmt + ("+gzip" if extra else "")
        # cold: streamed from PostgreSQL (and written to the export cache as it goes);
        # warm: the same checkpoint again, served from that file
        for temperature in ("cold", "warm"):
            exports[(name, temperature)] = timed_export(
                f"/api/v1/exclusions/export?format={fmt}", {**auth, **extra}
            )
        after = worker_rss(master)
        growth[name] = max(after[p] - baseline.get(p, after[p]) for p in after) / 2**20
    # derived: a checkpoint 40 changes later, its exports built from the files just written
    change_a_little(20)
    for fmt, extra in variants:
        name = fmt + ("+gzip" if extra else "")
        exports[(name, DERIVED)] = timed_export(
            f"/api/v1/exclusions/export?format={fmt}", {**auth, **extra}
        )
    r["exports"] = exports
    r["rss_growth_mb"] = growth


DERIVED = "derived: last file, +20 -20"


def change_a_little(count: int) -> None:
    """Add ``count`` exclusions and remove ``count`` that the latest export lists, then
    sign the checkpoint (its precompute task is purged: the bench asks for the exports)."""
    from registry.checkpoints import checkpoint_latest
    from registry.models import Exclusion
    from registry.services import exclusion_add, exclusion_remove

    stamp = time.time_ns()
    for i in range(count):
        exclusion_add(
            kind="repository", subject=f"github.com/bench/derived-{stamp}-{i}", cause="bench"
        )
    listed = Exclusion.objects.filter(active=True, cause="bench:late")
    for kind, subject in listed.values_list("kind", "subject")[:count]:
        exclusion_remove(kind=kind, subject=subject, cause="bench", reason="bench")
    checkpoint_latest()
    purge_export_tasks()


EXPORT_VARIANTS = [(fmt, {}) for fmt in ("txt", "ndjson", "csv", "parquet")] + [
    (fmt, {"Accept-Encoding": "gzip"}) for fmt in ("txt", "ndjson", "csv", "parquet")
]


def measure_precompute(r: dict, auth: dict[str, str]) -> None:
    """Sign a new checkpoint, let a real worker run the exports task it queues, then time
    each format's first request at that checkpoint, as a pipeline would meet it."""
    import psutil

    from registry.checkpoints import checkpoint_latest
    from registry.exports import export_names
    from registry.models import Exclusion
    from registry.selectors import in_force_at
    from registry.services import exclusion_add

    purge_export_tasks()
    exclusion_add(kind="repository", subject=f"github.com/bench/precompute-{time.time_ns()}",
                  cause="bench:precompute")  # fmt: skip
    checkpoint = checkpoint_latest()
    r["precompute_entries"] = Exclusion.objects.filter(in_force_at(checkpoint.size)).count()
    paths = [EXPORTS / name for name in export_names(checkpoint.size, checkpoint.root_hash)]
    log = BENCH_DIR / "precompute-worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "governance", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO", "-Q", ENV["CELERY_QUEUE"], "-n", "bench-api@%h"],
            cwd=ROOT, env={**os.environ, **ENV}, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            peak = 0
            deadline = time.monotonic() + 600
            while not all(p.exists() for p in paths) and time.monotonic() < deadline:
                if worker.poll() is not None:
                    raise SystemExit(f"the Celery worker stopped:\n{log.read_text()}")
                peak = max(peak, psutil.Process(worker.pid).memory_info().rss)
                time.sleep(0.05)
            if not all(p.exists() for p in paths):
                raise SystemExit(f"the exports were not precomputed:\n{log.read_text()}")
            succeeded = re.compile(r"exports_precompute\[[^]]+\] succeeded in ([\d.]+)s")
            for _ in range(100):  # the task logs its run time once it returns
                found = succeeded.search(log.read_text())
                if found:
                    break
                time.sleep(0.05)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:  # busy with another task (the log's tiles)
                worker.kill()
                worker.wait()
    r["precompute_s"] = float(found.group(1)) if found else float("nan")
    r["precompute_rss_mb"] = peak / 2**20
    r["precompute_files"] = {p.name.split(".", 1)[1]: p.stat().st_size for p in paths}
    precomputed = {}
    for fmt, extra in EXPORT_VARIANTS:
        name = fmt + ("+gzip" if extra else "")
        precomputed[name] = timed_export(
            f"/api/v1/exclusions/export?format={fmt}", {**auth, **extra}
        )
    r["precomputed"] = precomputed


def measure_bulk(r: dict, auth: dict[str, str], rng: random.Random) -> None:
    lines = []
    for _ in range(10_000):
        i = rng.randrange(ENTRIES)
        lines.append(subject_of(i)[1] + ("/x" if i % 10 == 0 else ""))
    body = "\n".join(lines).encode()
    # Untimed first: each gunicorn process pays once for imports and compiled patterns on
    # its first bulk call, and requests land on any of them.
    for _ in range(2 * int(_gunicorn_config()["workers"])):
        conn, response = request(
            "POST", "/api/v1/check", {**auth, "Content-Type": "text/plain"}, body
        )
        response.read()
        conn.close()
    bulk = []
    for _ in range(10):
        t = time.perf_counter()
        conn, response = request(
            "POST", "/api/v1/check", {**auth, "Content-Type": "text/plain"}, body
        )
        data = json.loads(response.read())
        bulk.append((time.perf_counter() - t) * 1000)
        conn.close()
    r["bulk_ms"] = bulk
    r["bulk_excluded"] = data["excluded"]


def measure_proofs(r: dict, auth: dict[str, str], size: int, rng: random.Random) -> None:
    inclusion, consistency = [], []
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    for _ in range(200):
        t = time.perf_counter()
        conn.request(
            "GET",
            f"/api/v1/log/proof/inclusion?index={rng.randrange(size)}&size={size}",
            headers=auth,
        )
        proof = json.loads(conn.getresponse().read())
        inclusion.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        conn.request(
            "GET",
            f"/api/v1/log/proof/consistency?first={rng.randrange(1, size)}&second={size}",
            headers=auth,
        )
        json.loads(conn.getresponse().read())
        consistency.append((time.perf_counter() - t) * 1000)
    r["inclusion_ms"], r["consistency_ms"], r["proof_len"] = (
        inclusion,
        consistency,
        len(proof["hashes"]),
    )


def _export_row(label: str, entries: int, timing: tuple[float, int, float]) -> tuple:
    seconds, size_bytes, cpu = timing
    return (
        label,
        f"{seconds:.2f} s, {size_bytes / 2**20:.1f} MiB, server CPU {cpu:.2f} s",
        f"{entries / seconds / 1e6:.2f}M entries/s ({entries / max(cpu, 1e-3) / 1e6:.2f}M/CPU s)",
        ">= 1M entries/s",
    )


_THROUGHPUT = {
    "minimal": ("minimal Django view", ""),
    "check": ("single check GET /check", "p99 <= 25 ms, 0 errors"),
    "check_many": ("  the same, 3,000 repositories in turn", "p99 <= 25 ms, 0 errors"),
    "not_modified": ("export 304 (If-None-Match)", "0 errors"),
}


def _throughput_rows(rounds: list[dict[str, tuple]]) -> list[tuple]:
    """Median req/s and p99 over the rounds; the ratio is the median of each round's.

    A second row gives the server CPU a request costs (median over the rounds) and the
    ratio of the minimal view's to it: the throughput ratio the two cores would allow if
    the host's speed held still.
    """
    rows = []
    cpu_minimal = statistics.median(sum(run["minimal"][2].values()) for run in rounds)
    for name, (label, target) in _THROUGHPUT.items():
        if name not in rounds[0]:
            continue
        rps = statistics.median(run[name][0] for run in rounds)
        p99 = statistics.median(run[name][1] for run in rounds)
        ratios = [run[name][0] / run["minimal"][0] for run in rounds]
        ratio = (
            "baseline"
            if name == "minimal"
            else f"{statistics.median(ratios):.2f}x minimal ({min(ratios):.2f}-{max(ratios):.2f})"
        )
        rows.append((label, f"{rps:,.0f} req/s, p99 {p99:.1f} ms", ratio, target))
        groups = {
            group: statistics.median(run[name][2][group] for run in rounds)
            for group in CpuMeter.GROUPS
        }
        total = sum(groups.values())
        split = ", ".join(f"{group} {value:.0f}" for group, value in groups.items())
        rows.append(
            (
                "  server CPU a request",
                f"{total:.0f} us ({split})",
                "" if name == "minimal" else f"{cpu_minimal / total:.2f}x minimal by CPU",
                "",
            )
        )
    return rows


def report(r: dict, size: int) -> None:
    tool = "wrk" if shutil.which("wrk") else "python threads"
    rows = _throughput_rows(r["rounds"])
    rows.append((RSS_LINE, f"{r['rss_mb']:.1f} MB", f"at {r['entries_in_force']:,} in force", ""))
    if "small_rss_mb" in r:
        growth = r["rss_mb"] - r["small_rss_mb"]
        rows.append((f"  the same at {SMALL:,} exclusions", f"{r['small_rss_mb']:.1f} MB",
                     f"{growth:+.1f} MB with the registry", "no growth (< 10 MB)"))  # fmt: skip
    for (fmt, temperature), timing in r.get("exports", {}).items():
        rows.append(_export_row(f"export {fmt} ({temperature})", r["entries_in_force"], timing))
    for fmt, mb in r.get("rss_growth_mb", {}).items():
        rows.append((f"worker RSS growth after {fmt} vs 10k", f"{mb:.1f} MB", "", "< 50 MB"))
    if "precomputed" in r:
        entries = r["precompute_entries"]
        total = r["precompute_s"]
        files = len(r["precompute_files"])
        rows.append((f"precompute task, {files} files (worker)", f"{total:.2f} s",
                     f"{files * entries / total / 1e6:.2f}M entries/s a file", ""))  # fmt: skip
        peak = f"{r['precompute_rss_mb']:.0f} MB"
        rows.append(("Celery worker peak RSS during it", peak, "", ""))
        for name, timing in r["precomputed"].items():
            rows.append(_export_row(f"export {name} (precomputed, 1st request)", entries, timing))
    if "bulk_ms" in r:
        bulk = r["bulk_ms"]
        rows.append(("bulk check of 10,000",
                     f"median {statistics.median(bulk):.0f} ms, max {max(bulk):.0f} ms",
                     f"{r['bulk_excluded']:,} excluded", "<= 250 ms"))  # fmt: skip
    for name in ("inclusion", "consistency"):
        if f"{name}_ms" not in r:
            continue
        values = r[f"{name}_ms"]
        rows.append(
            (
                f"{name} proof, HTTP, {size:,} entries",
                f"p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms",
                f"{r['proof_len']} hashes" if name == "inclusion" else "",
                "<= 20 ms",
            )
        )
    print(f"\n== results ({tool}, {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s; "
          f"gunicorn.conf.py: {_gunicorn_shape()}; "
          f"load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    for name, figure, ratio, target in rows:
        print(f"{name:<48} {figure:<34} {ratio:<28} {target}")


if __name__ == "__main__":
    main()
