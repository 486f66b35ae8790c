"""Writing a shard's kept rows: the kept rows in order, in full row groups, same bytes each run."""

from __future__ import annotations

import io
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.releases.shard_write import write_shard

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


def _shard(source_path, keep) -> bytes:
    sink = io.BytesIO()
    seen: list[int] = []
    with open(source_path, "rb") as handle:
        write_shard(
            pq.ParquetFile(handle),
            keep,
            sink,
            on_rows=seen.append,
            group_rows=GROUP_ROWS,
            batch_rows=BATCH_ROWS,
        )
    assert sum(seen) == len(keep)  # progress counts every source row once
    return sink.getvalue()


def test_the_file_holds_the_kept_rows_in_order_in_full_row_groups(source) -> None:
    path, table = source
    keep = _keep(table.num_rows, seed=5)

    written = pq.ParquetFile(io.BytesIO(_shard(path, keep)))

    assert written.read().equals(table.filter(keep))
    sizes = [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)]
    assert all(size == GROUP_ROWS for size in sizes[:-1])
    assert sum(sizes) == keep.true_count


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rerun_writes_the_same_bytes(source, seed) -> None:
    path, table = source
    keep = _keep(table.num_rows, seed)

    assert _shard(path, keep) == _shard(path, keep)


def test_a_shard_whose_rows_are_all_dropped_is_an_empty_file_with_the_schema(source) -> None:
    path, table = source

    written = pq.ParquetFile(io.BytesIO(_shard(path, pa.array([False] * table.num_rows))))

    assert written.metadata.num_rows == 0
    assert written.schema_arrow == table.schema


def test_nested_columns_are_written_with_their_values_and_statistics(tmp_path) -> None:
    rows = 300
    table = pa.table(
        {
            "repo_name": [f"owner/repo-{i}" for i in range(rows)],
            "tags": [[f"t{i}", f"u{i % 7}"] for i in range(rows)],
            "meta": [{"stars": i, "path": f"src/{'x' * 80}/{i}.py"} for i in range(rows)],
        }
    )
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path, row_group_size=100)
    keep = pa.array([i % 3 != 0 for i in range(rows)])

    written = pq.ParquetFile(io.BytesIO(_shard(path, keep)))

    kept = table.filter(keep)
    assert written.read().equals(kept)
    stars = written.metadata.row_group(0).column(2).statistics  # meta.stars, first group
    first = kept.slice(0, GROUP_ROWS).column("meta").combine_chunks().field("stars")
    assert (stars.min, stars.max) == (min(first.to_pylist()), max(first.to_pylist()))
