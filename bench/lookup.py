"""Lookup latency: a repository, and an owner with 10,000 repositories, in one version's
``repositories.parquet`` of 10,000,000 repositories across 100 shards.

The file is generated directly (``repository_list.write_table``, the layout the publish
step writes), once, under ``var/bench/`` (``BENCH_LOOKUP_DIR`` to move it), then read by
the functions the home page and the API call. Targets: p99 ≤ 50 ms for a repository,
≤ 200 ms for the owner's first page (all its repositories counted and summed).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from governance.lookup import owner_page_in_file, presence_in_file  # noqa: E402
from governance.releases.repository_list import write_table  # noqa: E402
from governance.releases.storage import Store  # noqa: E402

REPOSITORIES = int(os.environ.get("BENCH_LOOKUP_REPOSITORIES", 10_000_000))
SHARDS = 100
BIG_OWNER = "github.com/big-owner"
BIG_OWNER_REPOSITORIES = 10_000
TARGET_REPOSITORY_MS = 50.0
TARGET_OWNER_MS = 200.0


def _names(prefix: str, numbers: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, numbers.cast(pa.string()), "")


def _integers(low: int, high: int, count: int, seed: int) -> pa.Array:
    """``count`` pseudo-random integers in [low, high) (pyarrow only: no numpy needed)."""
    fractions = pc.random(count, initializer=seed)
    return pc.add(pc.floor(pc.multiply(fractions, high - low)).cast(pa.int64()), low)


def _range(count: int) -> pa.Array:
    return pa.array(range(count), pa.int64())


def generate(path: Path) -> None:
    plain = REPOSITORIES - BIG_OWNER_REPOSITORIES
    # About 10 repositories an owner, as in code datasets with many small accounts.
    owners = _names("github.com/owner-", _integers(0, plain // 10, plain, 7))
    repositories = pc.binary_join_element_wise(owners, _names("repo-", _range(plain)), "/")
    big = _names(f"{BIG_OWNER}/repo-", _range(BIG_OWNER_REPOSITORIES))
    table = pa.table(
        {
            "repository": pa.concat_arrays([repositories, big]),
            "shard": _names("shard-", _integers(0, SHARDS, REPOSITORIES, 8)),
            "rows": _integers(1, 500, REPOSITORIES, 9),
        }
    ).sort_by([("repository", "ascending"), ("shard", "ascending")])
    temporary = path.with_suffix(".tmp")
    write_table(table, str(temporary))
    temporary.replace(path)


def rss_mb() -> float:
    """The process's resident memory now (not its peak: generating the file is the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call, times: int) -> list[float]:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def main() -> None:
    folder = Path(os.environ.get("BENCH_LOOKUP_DIR", ROOT / "var" / "bench"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"repositories-{REPOSITORIES}.parquet"
    if not path.exists():
        started = time.perf_counter()
        generate(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    store = Store.at(str(folder))
    size = path.stat().st_size
    from pyarrow.parquet import ParquetFile

    metadata = ParquetFile(path).metadata
    print(
        f"file: {REPOSITORIES:,} repositories, {SHARDS} shards, {size / 1e6:.0f} MB, "
        f"{metadata.num_row_groups} row groups, footer {metadata.serialized_size / 1e3:.0f} kB"
    )
    # 100 present repositories from groups across the file, 100 absent ones.
    present = []
    for group in range(0, metadata.num_row_groups, max(1, metadata.num_row_groups // 100)):
        names = ParquetFile(path).read_row_group(group, columns=["repository"]).column(0)
        present.append(names[len(names) // 2].as_py())
    present = present[:100]
    missing = [f"github.com/nobody-{i}/nothing" for i in range(100)]
    rss_before = rss_mb()
    repository_ms = []
    for name in (present + missing) * 3:
        repository_ms.extend(timed(lambda n=name: presence_in_file(store, str(path), n), 1))
    found = presence_in_file(store, str(path), present[0])
    assert found is not None and found.rows > 0, present[0]
    assert presence_in_file(store, str(path), missing[0]) is None
    owner_ms = timed(lambda: owner_page_in_file(store, str(path), BIG_OWNER), 50)
    page = owner_page_in_file(store, str(path), BIG_OWNER)
    assert page.repositories == BIG_OWNER_REPOSITORIES, page.repositories
    rss_after = rss_mb()
    p99_repository = percentile(repository_ms, 0.99)
    p99_owner = percentile(owner_ms, 0.99)
    print(
        f"repository: {len(repository_ms)} lookups (half present), median "
        f"{statistics.median(repository_ms):.1f} ms, p99 {p99_repository:.1f} ms "
        f"= {p99_repository / TARGET_REPOSITORY_MS:.2f} of the {TARGET_REPOSITORY_MS:.0f} ms target"
    )
    print(
        f"owner with {BIG_OWNER_REPOSITORIES:,} repositories ({page.rows:,} rows): "
        f"{len(owner_ms)} lookups, median {statistics.median(owner_ms):.1f} ms, p99 "
        f"{p99_owner:.1f} ms = {p99_owner / TARGET_OWNER_MS:.2f} of the "
        f"{TARGET_OWNER_MS:.0f} ms target"
    )
    print(
        f"resident memory before and after the {len(repository_ms) + len(owner_ms)} lookups: "
        f"{rss_before:.0f} -> {rss_after:.0f} MB (the file: {size / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
