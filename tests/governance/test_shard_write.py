"""Writing a shard's kept rows with several threads: same bytes whatever the thread count."""

from __future__ import annotations

import hashlib
import itertools
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.releases.shard_write import part_ranges, write_shard

GROUP_ROWS, BATCH_ROWS = 64, 16


@pytest.fixture
def source(tmp_path):
    rows = 1000
    table = pa.table(
        {
            "repo_name": [f"owner-{i // 40}/repo-{i // 3}" for i in range(rows)],
            "content": [f"def f():\n    return {i}\n" * (1 + i % 9) for i in range(rows)],
            "size": pa.array([i * 3 for i in range(rows)], pa.int64()),
        }
    )
    path = tmp_path / "source.parquet"
    pq.write_table(table, path, row_group_size=150)  # row groups not aligned with the output
    return path, table


def _keep(rows: int, seed: int, dropped: float = 0.3) -> pa.BooleanArray:
    rng = random.Random(seed)
    return pa.array([rng.random() >= dropped for _ in range(rows)])


def _shard(tmp_path, source_path, keep, threads: int, name: str) -> bytes:
    target = tmp_path / f"{name}.parquet"
    seen = []
    with open(target, "wb") as sink:
        write_shard(
            lambda: open(source_path, "rb"),  # noqa: SIM115 - closed by write_shard
            pq.read_metadata(source_path),
            keep,
            sink,
            threads=threads,
            scratch=str(tmp_path / f".{name}"),
            on_rows=seen.append,
            group_rows=GROUP_ROWS,
            batch_rows=BATCH_ROWS,
        )
    assert sum(seen) == len(keep)  # progress counts every source row once
    assert sorted(path.name for path in tmp_path.glob(f".{name}*")) == []  # parts removed
    return target.read_bytes()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_bytes_do_not_depend_on_the_number_of_threads(tmp_path, source, seed) -> None:
    path, table = source
    keep = _keep(table.num_rows, seed)

    outputs = {t: _shard(tmp_path, path, keep, t, f"t{t}") for t in (1, 2, 3, 7)}

    digests = {t: hashlib.sha256(data).hexdigest() for t, data in outputs.items()}
    assert len(set(digests.values())) == 1, digests


def test_the_file_holds_the_kept_rows_in_order_in_full_row_groups(tmp_path, source) -> None:
    path, table = source
    keep = _keep(table.num_rows, seed=5)

    _shard(tmp_path, path, keep, 3, "out")

    written = pq.ParquetFile(tmp_path / "out.parquet")
    assert written.read().equals(table.filter(keep))
    sizes = [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)]
    assert all(size == GROUP_ROWS for size in sizes[:-1])
    assert sum(sizes) == keep.true_count


def test_a_shard_whose_rows_are_all_dropped_is_an_empty_file_with_the_schema(
    tmp_path, source
) -> None:
    path, table = source
    keep = pa.array([False] * table.num_rows)

    _shard(tmp_path, path, keep, 3, "empty")

    written = pq.ParquetFile(tmp_path / "empty.parquet")
    assert written.metadata.num_rows == 0
    assert written.schema_arrow == table.schema


def test_part_ranges_cover_every_row_once_and_start_parts_on_a_row_group() -> None:
    keep = _keep(1000, seed=9)
    kept = [i for i, value in enumerate(keep.to_pylist()) if value]

    ranges = part_ranges(keep, 4, GROUP_ROWS)

    assert ranges[0][0] == 0 and ranges[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    for start, _stop in ranges[1:]:
        assert kept.index(start) % GROUP_ROWS == 0  # a part begins a fresh row group
    assert len(part_ranges(keep, 50, GROUP_ROWS)) == -(-len(kept) // GROUP_ROWS)


def test_a_failing_part_raises_its_error(tmp_path, source) -> None:
    path, table = source
    calls = []

    def open_source():
        calls.append(1)
        if len(calls) == 2:
            raise OSError("the object store went away")
        return open(path, "rb")

    with open(tmp_path / "out.parquet", "wb") as sink, pytest.raises(OSError, match="went away"):
        write_shard(
            open_source,
            pq.read_metadata(path),
            _keep(table.num_rows, seed=1),
            sink,
            threads=3,
            scratch=str(tmp_path / ".out"),
            on_rows=lambda rows: None,
            group_rows=GROUP_ROWS,
            batch_rows=BATCH_ROWS,
        )
    assert list(tmp_path.glob(".out*")) == []  # no part file left behind
