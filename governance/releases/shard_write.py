"""Write a shard's kept rows as one Parquet file, streaming, on the calling thread.

One thread a shard: a release's parallelism comes from its shards, one task each, spread
over the worker's processes. Memory is bounded by a row group and a source batch. The
bytes depend only on the source and the keep mask: source batches are cut on one grid
(``BATCH_ROWS`` rows from the start of each source row group) and output row groups hold
exactly ``ROW_GROUP_ROWS`` rows, so a rerun writes the same file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

ZSTD_LEVEL = 3  # explicit: the bytes of a version depend on it
ROW_GROUP_ROWS = 8192  # rows per output row group (tens of MB of Stack-v2-like content)
# Source rows decoded at a time. Output bytes depend on it (it cuts the chunks handed
# to the encoder), so it is fixed, not tuned per machine.
BATCH_ROWS = 2048
PROGRESS_SECONDS = 0.5


def write_shard(
    source: pq.ParquetFile,
    keep: pa.BooleanArray,
    sink: BinaryIO,
    *,
    on_rows: Callable[[int], None],
    group_rows: int | None = None,
    batch_rows: int | None = None,
) -> None:
    """Write the rows of ``source`` that ``keep`` marks into ``sink`` as one Parquet file.

    ``on_rows`` is called about every ``PROGRESS_SECONDS``, and once at the end, with the
    source rows read since its last call. ``group_rows`` and ``batch_rows`` default to
    ``ROW_GROUP_ROWS`` and ``BATCH_ROWS``.
    """
    group_rows = group_rows or ROW_GROUP_ROWS
    batch_rows = batch_rows or BATCH_ROWS
    with pq.ParquetWriter(
        sink,
        source.schema_arrow,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=_dictionary_columns(source.metadata),
    ) as writer:
        pending: list[pa.RecordBatch] = []
        pending_rows = read = start = 0
        reported = time.monotonic()
        for batch in source.iter_batches(batch_size=batch_rows, use_threads=False):
            mask = keep.slice(start, batch.num_rows)
            start += batch.num_rows
            read += batch.num_rows
            # Nothing dropped: the batch itself, not a copy (same rows, same bytes).
            kept = batch if mask.true_count == batch.num_rows else batch.filter(mask)
            if kept.num_rows:
                pending.append(kept)
                pending_rows += kept.num_rows
            while pending_rows >= group_rows:
                table = pa.Table.from_batches(pending)
                writer.write_table(table.slice(0, group_rows), row_group_size=group_rows)
                rest = table.slice(group_rows)
                pending = rest.to_batches() if rest.num_rows else []  # zero-copy slices
                pending_rows = rest.num_rows
            if time.monotonic() - reported >= PROGRESS_SECONDS:
                on_rows(read)
                read, reported = 0, time.monotonic()
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=group_rows)
    on_rows(read)


def _dictionary_columns(metadata: pq.FileMetaData) -> list[str]:
    """Leaf columns worth dictionary-encoding: not long free text such as file contents.

    Trying a dictionary on ``content`` costs time and then falls back to plain encoding
    anyway. Decided from the source's first row group, so it is deterministic.
    """
    if metadata.num_row_groups == 0 or metadata.num_rows == 0:
        return [metadata.schema.column(i).path for i in range(metadata.num_columns)]
    group = metadata.row_group(0)
    names = []
    for index in range(metadata.num_columns):
        column = metadata.schema.column(index)
        average = group.column(index).total_uncompressed_size / max(group.num_rows, 1)
        if column.physical_type != "BYTE_ARRAY" or average < 64:
            names.append(column.path)
    return names
