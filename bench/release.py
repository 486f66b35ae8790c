"""Benchmark of dataset releases against the release targets (docs/benchmarks.md).

Generates Stack-v2-shaped shards with the demo generator, seeds the registry with
repository and namespace exclusions, then times in one run:

  (a) a full release through the real pipeline: a Celery worker with 2 processes on
      Redis, PostgreSQL as the database, after one untimed release that warms the
      worker's processes (reported apart); each round releases a new dataset of the same
      source and checkpoint, and their outputs must be byte-identical;
  (b) a bare pyarrow read -> zstd write -> sha256 copy of the same shards (2 processes);
  (c) polars scan + filter + sink of the same filter, run after each (a): a/c compares
      the best of each, so a host whose speed drifts during the run weighs on both;
  (d) an incremental release after new exclusions that all fall in one shard (once a
      round, each with new exclusions);
  and the same incremental release on a dataset of many small shards (one touched).

Each timed release starts once the worker has precomputed the registry exports that
signing its checkpoint queued (``registry_settle``), so registry work does not overlap it.

It also samples the peak RSS of each worker process. Sizes are parameters (the
default is 8 x 250,000 rows); see ``--help``. Results are printed as a Markdown table and
written to ``<workdir>/results.json``.

Needs PostgreSQL and Redis (defaults: the releases engineer's database and Redis db;
override with BENCH_DATABASE_URL and BENCH_REDIS_URL). The database is flushed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rows", type=int, default=250_000, help="rows per shard")
    parser.add_argument("--owners", type=int, default=300_000)
    parser.add_argument("--content-min", type=int, default=1024)
    parser.add_argument("--content-max", type=int, default=4096)
    parser.add_argument("--repo-exclusions", type=int, default=200_000)
    parser.add_argument("--namespace-exclusions", type=int, default=5_000)
    parser.add_argument("--incremental", type=int, default=1_000, help="new exclusions for (d)")
    parser.add_argument("--wide-shards", type=int, default=100)
    parser.add_argument("--wide-rows", type=int, default=20_000, help="rows per wide shard")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--worker-log-level",
        default="WARNING",
        help="INFO writes each task's run time to <workdir>/worker.log (for breakdowns)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="(a), (b), (c) and (d) are each run this many times, (a) and (c) alternating; "
        "the best of each is kept",
    )
    return parser.parse_args()


def configure(args: argparse.Namespace, queue: str) -> None:
    os.environ.update(
        DEBUG="true",
        DATABASE_URL=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_releases"
        ),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        DATASET_STORAGE_ROOT=str(args.workdir / "out"),
        LOG_SIGNING_KEY_FILE=str(args.workdir / "log-signing.key"),
        VAR_DIR=str(args.workdir / "var"),
        CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="governance.settings",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


class RssSampler(threading.Thread):
    """Peak RSS of each process of the worker (the pool's children do the work)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_child = 0
        self.peak_parent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        parent = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                self.peak_parent = max(self.peak_parent, parent.memory_info().rss)
                for child in parent.children(recursive=True):
                    self.peak_child = max(self.peak_child, child.memory_info().rss)
            except psutil.Error:
                pass
            self.stop.wait(0.1)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its living children, in seconds."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def generate(folder: Path, spec) -> list[Path]:
    from governance.demo_data import generate_shards

    stamp = folder / ".spec.json"
    wanted = json.dumps(spec.__dict__, sort_keys=True, default=list)
    if stamp.exists() and stamp.read_text() == wanted:
        return sorted(folder.glob("*.parquet"))
    shutil.rmtree(folder, ignore_errors=True)
    paths = generate_shards(folder, spec)
    stamp.write_text(wanted)
    return paths


def seed_registry(entries: list[tuple[str, str]]) -> None:
    """Append exclusions through the registry's bulk service: the same leaves, Merkle tree
    and checkpoint as one-by-one appends, without timing 205,000 service calls."""
    from registry.services import exclusion_add_many

    exclusion_add_many(subjects=entries, cause="bench")


def start_worker(args: argparse.Namespace, queue: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "governance",
            "worker",
            "--pool=prefork",
            f"--concurrency={args.workers}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--loglevel={args.worker_log_level}",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=open(args.workdir / "worker.log", "w"),  # noqa: SIM115 - lives with the worker
    )
    from governance.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            return process
    process.kill()
    raise SystemExit(f"The worker did not start; see {args.workdir / 'worker.log'}")


START_SECONDS: list[float] = []


def registry_settle(worker: subprocess.Popen) -> None:
    """Sign the registry's checkpoint and wait for the worker to precompute its exports.

    Signing a checkpoint queues that task (``registry.tasks.exports_precompute``, a few
    seconds at this size) on the same workers. Left to run, it would overlap the release
    timed next; each timed release starts once it is done.
    """
    from registry.checkpoints import checkpoint_latest
    from registry.export_store import ExportStore
    from registry.exports import export_names

    checkpoint = checkpoint_latest()
    store, names = ExportStore(), export_names(checkpoint.size, checkpoint.root_hash)
    deadline = time.monotonic() + 600
    while not all(store.exists(name) for name in names):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not precompute the exports; see its log")
        time.sleep(0.05)


def release(dataset, worker: subprocess.Popen) -> tuple[float, object]:
    """Seconds from asking for a release to its version being published.

    The end is the version's ``published_at``, stamped by the worker as it commits, so
    this process can look rarely: polling the database every few milliseconds would take
    CPU (here and in PostgreSQL) from the release it times, which the cores cannot spare.
    """
    from governance.enums import VersionStatus
    from governance.releases import release_start

    registry_settle(worker)
    started = time.time()
    version = release_start(dataset_id=dataset.id, triggered_by="bench")
    # release_start reads the registry checkpoint (and lists the source) before queuing.
    START_SECONDS.append(time.time() - started)
    while True:
        version.refresh_from_db()
        if version.status != VersionStatus.BUILDING:
            break
        time.sleep(0.25)
    if version.status != VersionStatus.PUBLISHED:
        raise SystemExit(f"{version.label} failed: {version.error}")
    return version.published_at.timestamp() - started, version


def bare_copy(job: tuple[str, str]) -> str:
    import pyarrow.parquet as pq

    source, target = job
    digest = hashlib.sha256()

    class Hashing:
        def __init__(self, handle) -> None:
            self.handle = handle
            self.closed = False
            self.size = 0

        def write(self, data) -> int:
            digest.update(data)
            self.size += len(data)
            return self.handle.write(data)

        def tell(self) -> int:
            return self.size

        def flush(self) -> None:
            self.handle.flush()

        def close(self) -> None:
            self.closed = True

    reader = pq.ParquetFile(source)
    with open(target, "wb") as handle:
        writer = pq.ParquetWriter(
            Hashing(handle), reader.schema_arrow, compression="zstd", compression_level=3
        )
        for batch in reader.iter_batches(batch_size=8192):
            writer.write_batch(batch)
        writer.close()
    return digest.hexdigest()


def polars_filter(paths: list[Path], out: Path, repos: list[str], namespaces: list[str]) -> None:
    import polars as pl

    out.mkdir(parents=True, exist_ok=True)
    name = pl.col("repo_name").str.to_lowercase()
    repository = pl.lit("github.com/") + name
    owner = pl.lit("github.com/") + name.str.split("/").list.first()
    keep = ~(
        repository.is_in(pl.lit(pl.Series(repos)).implode())
        | owner.is_in(pl.lit(pl.Series(namespaces)).implode())
    )
    for path in paths:
        pl.scan_parquet(path).filter(keep).sink_parquet(
            out / path.name, compression="zstd", compression_level=3
        )


def shard_spec(args: argparse.Namespace, *, shards: int, rows: int, seed: int | None = None):
    """The demo generator's spec for ``shards`` shards of ``rows`` rows, one row a repository."""
    from governance.demo_data import ShardSpec

    extra = {} if seed is None else {"seed": seed}
    return ShardSpec(
        shards=shards,
        rows_per_shard=rows,
        owners=args.owners,
        rows_per_repo=(1, 1),
        content_bytes=(args.content_min, args.content_max),
        corpus_bytes=64 << 20,
        **extra,
    )


def wide_release(args: argparse.Namespace, worker, already: set[str], owners: set[str]) -> dict:
    """A full release of ``--wide-shards`` small shards, then one touching only one of them."""
    import pyarrow.parquet as pq

    from governance.models import Dataset, ShardBuild

    wide_spec = shard_spec(args, shards=args.wide_shards, rows=args.wide_rows, seed=99)
    wide_paths = generate(args.workdir / "source-wide", wide_spec)
    wide = Dataset.objects.create(
        name="wide", source_uri=str(args.workdir / "source-wide"), release_cadence=None
    )
    results = {}
    results["wide_full_s"], _ = release(wide, worker)
    touched = wide_paths[len(wide_paths) // 2]
    wide_names = pq.read_table(touched, columns=["repo_name"]).column(0).to_pylist()
    wide_fresh = [
        r
        for r in wide_names
        if f"github.com/{r}" not in already and r.split("/", 1)[0] not in owners
    ][: args.incremental]
    seed_registry([("repository", f"github.com/{r.lower()}") for r in wide_fresh])
    results["wide_incremental_s"], wide_second = release(wide, worker)
    results["wide_shards_rewritten"] = ShardBuild.objects.filter(
        version=wide_second, action="rewrite"
    ).count()
    results["wide_incremental_over_full"] = results["wide_incremental_s"] / results["wide_full_s"]
    print(
        f"wide: full {results['wide_full_s']:.1f}s, incremental "
        f"{results['wide_incremental_s']:.1f}s",
        flush=True,
    )
    return results


def main() -> None:
    args = parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    queue = f"bench-{os.getpid()}"
    configure(args, queue)

    import pyarrow.parquet as pq
    from django.core.management import call_command

    from governance.models import Dataset, ShardBuild
    from registry.checkpoints import checkpoint_latest
    from registry.signing import write_new_signing_key

    results: dict[str, object] = {"parameters": {k: str(v) for k, v in vars(args).items()}}
    key = Path(os.environ["LOG_SIGNING_KEY_FILE"])
    if not key.exists():
        write_new_signing_key(key)
    ensure_database(os.environ["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(args.workdir / "out", ignore_errors=True)
    # Export files of the flushed log: kept, a longer old log's would outrank the new
    # log's files when the exports folder is pruned, and the new ones would never stay.
    from registry.export_store import ExportStore

    shutil.rmtree(ExportStore().root, ignore_errors=True)

    spec = shard_spec(args, shards=args.shards, rows=args.rows)
    with Timer() as timer:
        paths = generate(args.workdir / "source", spec)
    results["generate_s"] = round(timer.seconds, 1)
    source_bytes = sum(p.stat().st_size for p in paths)
    names = []
    for path in paths:
        names.append(pq.read_table(path, columns=["repo_name"]).column(0).to_pylist())
    all_repos = sorted({name for shard in names for name in shard})
    print(
        f"source: {len(paths)} shards, {sum(map(len, names))} rows, {len(all_repos)} repos, "
        f"{source_bytes / 1e9:.2f} GB, generated in {timer.seconds:.0f}s",
        flush=True,
    )

    rng = random.Random(7)
    touched_shard = len(paths) // 2
    touched_names = set(names[touched_shard])
    # Sample extra, then drop the touched shard's repositories (kept for (d)).
    wanted = min(args.repo_exclusions * 3 // 2, len(all_repos) // 2)
    excluded = rng.sample(all_repos, wanted)
    excluded = [r for r in excluded if r not in touched_names][: args.repo_exclusions]
    owners = rng.sample(range(args.owners), args.namespace_exclusions)
    namespaces = [f"github.com/owner-{i:05d}" for i in owners]
    entries = [("repository", f"github.com/{r.lower()}") for r in excluded]
    entries += [("namespace", n) for n in namespaces]
    with Timer() as timer:
        seed_registry(entries)
    print(f"registry: {len(entries)} exclusions seeded in {timer.seconds:.0f}s", flush=True)
    results["exclusions"] = len(entries)
    with Timer() as timer:
        checkpoint_latest()
    results["checkpoint_s"] = round(timer.seconds, 2)

    worker = start_worker(args, queue)
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        dataset = Dataset.objects.create(
            name="bench", source_uri=str(args.workdir / "source"), release_cadence=None
        )
        # (a) and (c) alternate, best of each: a host whose speed drifts during the run
        # (shared ones do) then weighs on both sides of a/c alike.
        repository_exclusions = [e[1] for e in entries if e[0] == "repository"]
        out_c = args.workdir / "out-polars"
        c_times, c_cpu, a_cpu = [], [], []

        def run_polars() -> None:
            shutil.rmtree(out_c, ignore_errors=True)
            cpu = cpu_seconds(os.getpid())
            with Timer() as timer:
                polars_filter(paths, out_c, repository_exclusions, namespaces)
            c_times.append(timer.seconds)
            c_cpu.append(cpu_seconds(os.getpid()) - cpu)
            print(f"(c) polars: {timer.seconds:.1f}s", flush=True)

        # The worker's processes pay once for imports, compiled exclusions and a warm
        # allocator; a long-lived worker has paid already. Timed apart, not in (a).
        warmup = Dataset.objects.create(
            name="bench-warmup", source_uri=dataset.source_uri, release_cadence=None
        )
        results["a_first_on_fresh_worker_s"], _ = release(warmup, worker)
        print(f"(a) first, fresh worker: {results['a_first_on_fresh_worker_s']:.1f}s", flush=True)
        a_times, manifests = [], []
        for round_ in range(args.rounds):
            target = (
                dataset
                if round_ == 0
                else Dataset.objects.create(
                    name=f"bench-repeat-{round_}",
                    source_uri=dataset.source_uri,
                    release_cadence=None,
                )
            )
            cpu = cpu_seconds(worker.pid)
            seconds, version = release(target, worker)
            a_times.append(seconds)
            a_cpu.append(cpu_seconds(worker.pid) - cpu)
            manifests.append(version.manifest["files"])
            if round_ == 0:
                first = version
            print(f"(a) full release: {seconds:.1f}s", flush=True)
            run_polars()
        results["a_full_release_s"] = min(a_times)
        results["a_all_s"] = [round(t, 1) for t in a_times]
        results["identical_output"] = all(m == manifests[0] for m in manifests)
        results["c_polars_s"] = min(c_times)
        results["c_all_s"] = [round(t, 1) for t in c_times]
        # CPU seconds used (user + system; the worker's processes, or this one for polars):
        # what each way costs, apart from how well it keeps the cores busy.
        results["a_cpu_s"] = [round(t, 1) for t in a_cpu]
        results["c_cpu_s"] = [round(t, 1) for t in c_cpu]

        out_b = args.workdir / "out-bare"
        shutil.rmtree(out_b, ignore_errors=True)
        out_b.mkdir()
        times = []
        for _ in range(args.rounds):
            with Timer() as timer, ProcessPoolExecutor(args.workers) as pool:
                list(pool.map(bare_copy, [(str(p), str(out_b / p.name)) for p in paths]))
            times.append(timer.seconds)
        results["b_bare_copy_s"] = min(times)
        results["b_all_s"] = [round(t, 1) for t in times]
        print(f"(b) bare copy: {timer.seconds:.1f}s", flush=True)

        polars_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in out_c.glob("*.parquet"))
        results["rows_out_pipeline"] = first.rows_out
        results["rows_out_polars"] = polars_rows

        excluded_owners = {n.split("/", 1)[1] for n in namespaces}
        fresh_all = [n for n in sorted(touched_names) if n.split("/", 1)[0] not in excluded_owners]
        d_times = []
        for round_ in range(args.rounds):  # each round: new exclusions, all in that one shard
            fresh = fresh_all[round_ * args.incremental : (round_ + 1) * args.incremental]
            seed_registry([("repository", f"github.com/{r.lower()}") for r in fresh])
            seconds, second = release(dataset, worker)
            d_times.append(seconds)
            print(f"(d) incremental: {seconds:.1f}s", flush=True)
        results["d_incremental_s"] = min(d_times)
        results["d_all_s"] = [round(t, 1) for t in d_times]
        results["d_shards_rewritten"] = ShardBuild.objects.filter(
            version=second, action="rewrite"
        ).count()
        results["d_rows_removed_last"] = second.previous.rows_out - second.rows_out
        fresh = fresh_all[: args.rounds * args.incremental]

        if args.wide_shards:
            already = {subject for _kind, subject in entries} | {f"github.com/{r}" for r in fresh}
            results.update(wide_release(args, worker, already, excluded_owners))
    finally:
        sampler.stop.set()
        worker.terminate()
        worker.wait(timeout=30)
    results["release_start_s"] = [round(t, 2) for t in START_SECONDS]
    results["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    results["worker_child_peak_rss_mib"] = round(sampler.peak_child / 2**20)
    results["worker_parent_peak_rss_mib"] = round(sampler.peak_parent / 2**20)
    results["a_over_c"] = results["a_full_release_s"] / results["c_polars_s"]
    results["a_over_b"] = results["a_full_release_s"] / results["b_bare_copy_s"]
    results["d_over_a"] = results["d_incremental_s"] / results["a_full_release_s"]
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print()
    print("| figure | value |")
    print("|---|---|")
    for key_name, value in results.items():
        if key_name != "parameters":
            shown = f"{value:.2f}" if isinstance(value, float) else value
            print(f"| {key_name} | {shown} |")
    print_targets(results)


def print_targets(results: dict) -> None:
    """Each target of the releases, its figure from this run, and whether it is met."""
    a_cpu, c_cpu = min(results["a_cpu_s"]), min(results["c_cpu_s"])
    rss = results["worker_child_peak_rss_mib"]
    rows = [
        ("(a) full release <= 1.1x (c) polars", results["a_over_c"], 1.1, ""),
        ("(a) CPU seconds <= (c) polars'", a_cpu / c_cpu, 1.0, f" ({a_cpu:.1f} / {c_cpu:.1f} s)"),
        ("(d) incremental <= 0.25x (a)", results["d_over_a"], 0.25, ""),
        ("worker process peak RSS <= 1 GiB", rss / 1024, 1.0, f" ({rss} MiB)"),
    ]
    if "wide_incremental_over_full" in results:
        rows.insert(
            3,
            (f"{results['parameters']['wide_shards']} shards, 1 touched <= 0.05x their full",
             results["wide_incremental_over_full"], 0.05, ""),
        )  # fmt: skip
    print("\n== targets")
    for name, figure, limit, detail in rows:
        print(f"{name:<44} {figure:6.2f}{detail:<18} {'met' if figure <= limit else 'NOT MET'}")


if __name__ == "__main__":
    main()
