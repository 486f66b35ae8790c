"""Build one shard of a version: filter its source shard, or link the previous output.

Rewriting streams record batches: memory is bounded by one source row group plus one
output row group, whatever the shard's size. Output row groups hold a fixed number of
kept rows, so the bytes depend only on the source and the checkpoint, never on batch
boundaries, worker count or task order. The file is hashed as it is written.

Safe to run twice: the output is written under a temporary name and renamed, with the
same bytes each time, and the shard is marked done by a conditional UPDATE.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases.crash import crash_point
from governance.releases.errors import version_fail
from governance.releases.layout import (
    DATA_DIR,
    dataset_store,
    final_path,
    index_path,
    staging_path,
    work_path,
)
from governance.releases.matching import (
    NO_EXCLUSIONS,
    CompiledExclusions,
    compiled_exclusions_at,
    exclusions_changed_between,
)
from governance.releases.shard_index import (
    ShardRepositories,
    repository_index,
    shard_changes,
    shard_repositories,
)
from governance.releases.storage import Store

logger = logging.getLogger(__name__)

ZSTD_LEVEL = 3  # explicit: the bytes of a version depend on it
ROW_GROUP_ROWS = 8192  # rows per output row group (~20 MB of Stack-v2-like content)
# Source batches are smaller than output row groups: the decoded batches in flight are
# what a shard task holds beyond the row group being filled, and smaller ones are reused
# by the allocator instead of mapped afresh (less system time). Output bytes depend only
# on ROW_GROUP_ROWS.
BATCH_ROWS = 2048
# Source batches decoded ahead by a reader thread while this one filters, encodes and
# hashes: pyarrow releases the GIL in both, so one shard uses two cores. Memory grows by
# this many batches, still bounded by batch size, not by the shard.
READ_AHEAD_BATCHES = 4
PROGRESS_EVERY_ROWS = 65_536
_Item = TypeVar("_Item")


def shard_build(*, shard_id: int) -> ShardBuild | None:
    """Build one shard; returns quietly if it or its version is gone or already done."""
    shard = (
        ShardBuild.objects.select_related("version__dataset", "version__previous", "reuse_of")
        .filter(id=shard_id)
        .first()
    )
    if shard is None or shard.status == ShardStatus.DONE:
        return shard
    version = shard.version
    if version.status != VersionStatus.BUILDING:
        return shard
    try:
        stats = _reuse(shard) if shard.action == ShardAction.REUSE else _rewrite(shard)
    except Exception as exc:
        logger.exception("Shard %s of %s failed", shard.name, version.label)
        version_fail(version, f"Shard {shard.name} failed: {type(exc).__name__}: {exc}")
        return shard
    crash_point("shard_written")
    with transaction.atomic():
        updated = ShardBuild.objects.filter(id=shard.id, status=ShardStatus.PENDING).update(
            status=ShardStatus.DONE, **stats
        )
        if updated == 1:
            reused = 1 if shard.action == ShardAction.REUSE else 0
            extra = {"rows_done": F("rows_done") + stats["rows_in"]} if reused else {}
            DatasetVersion.objects.filter(id=version.id).update(
                shards_done=F("shards_done") + 1,
                shards_reused=F("shards_reused") + reused,
                updated_at=timezone.now(),
                **extra,
            )
    crash_point("shard_recorded")
    shard.refresh_from_db()
    return shard


def _reuse(shard: ShardBuild) -> dict[str, int | str]:
    """Link the previous version's output: same bytes, so same hash, rows and size."""
    earlier = shard.reuse_of
    version = shard.version
    store = dataset_store(version.dataset)
    source = f"{final_path(store, version.previous.version)}/{DATA_DIR}/{shard.name}"
    target = f"{staging_path(store, version.version)}/{DATA_DIR}/{shard.name}"
    store.link(source, target)
    return {
        "rows_in": earlier.rows_in,
        "rows_out": earlier.rows_out,
        "bytes": earlier.bytes,
        "sha256": earlier.sha256,
    }


class _RowGroupBuffer:
    """Collects kept rows and writes them as row groups of exactly ``size`` rows."""

    def __init__(self, writer: pq.ParquetWriter, size: int) -> None:
        self.writer = writer
        self.size = size
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.batches.append(batch)
            self.rows += batch.num_rows
        while self.rows >= self.size:
            table = pa.Table.from_batches(self.batches)
            self.writer.write_table(table.slice(0, self.size), row_group_size=self.size)
            rest = table.slice(self.size)
            self.batches = rest.to_batches() if rest.num_rows else []  # zero-copy slices
            self.rows = rest.num_rows

    def finish(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_batches(self.batches), row_group_size=self.size)
        self.batches, self.rows = [], 0


def _dictionary_columns(reader: pq.ParquetFile) -> list[str]:
    """Columns worth dictionary-encoding: not long free text such as file contents.

    Trying a dictionary on ``content`` costs time and then falls back to plain encoding
    anyway. Decided from the source's first row group, so it is deterministic.
    """
    metadata = reader.metadata
    if metadata.num_row_groups == 0 or metadata.num_rows == 0:
        return list(reader.schema_arrow.names)
    group = metadata.row_group(0)
    names = []
    for index, field in enumerate(reader.schema_arrow):
        average = group.column(index).total_uncompressed_size / max(group.num_rows, 1)
        if not (pa.types.is_string(field.type) or pa.types.is_binary(field.type)) or average < 64:
            names.append(field.name)
    return names


def _rewrite(shard: ShardBuild) -> dict[str, int | str]:
    version = shard.version
    dataset = version.dataset
    store = dataset_store(dataset)
    source = Store.at(dataset.source_uri)
    exclusions = compiled_exclusions_at(version.log_size, version.root_hash)
    target = f"{staging_path(store, version.version)}/{DATA_DIR}/{shard.name}"
    rows_in = rows_out = pending_progress = 0
    with source.open_read(source.path(shard.name)) as handle:
        reader = pq.ParquetFile(handle)
        schema = reader.schema_arrow
        if dataset.repo_column not in schema.names:
            raise ValueError(
                f"the shard has no column {dataset.repo_column!r} (columns: "
                f"{', '.join(schema.names)}); set the dataset's repository column."
            )
        # Pass 1 reads only the repository column (a few bytes a row) and decides every
        # row at once, matching each run of one repository once.
        names = reader.read(columns=[dataset.repo_column]).column(0)
        repositories = shard_repositories(names, dataset.implied_host, exclusions)
        del names
        keep = repositories.keep
        previous = version.previous
        before, changed = NO_EXCLUSIONS, NO_EXCLUSIONS
        if previous:
            before = compiled_exclusions_at(previous.log_size, previous.root_hash)
            # The same delta the planner decided reuse with: read from the log's range.
            changed = exclusions_changed_between(previous.log_size, version.log_size)
        # The shard's repository index and changelog part are pure Arrow work (no GIL,
        # no database): a side thread computes them while pass 2 streams the shard. The
        # index depends only on the source shard: an earlier release's is kept as it is.
        index_file = index_path(store, shard.source_fingerprint)
        with_index = not store.exists(index_file)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-index") as side:
            summary = side.submit(_summarise, repositories, before, changed, with_index)
            # Pass 2 streams every column, a batch at a time.
            with store.atomic_writer(target, background=True) as (hashing, written):
                writer = pq.ParquetWriter(
                    hashing,
                    schema,
                    compression="zstd",
                    compression_level=ZSTD_LEVEL,
                    use_dictionary=_dictionary_columns(reader),
                )
                buffer = _RowGroupBuffer(writer, ROW_GROUP_ROWS)
                # Decoded on the read-ahead thread alone: pyarrow's own pool would only add
                # hand-offs, with each worker process already keeping one core busy.
                batches = reader.iter_batches(batch_size=BATCH_ROWS, use_threads=False)
                for read, kept in _read_ahead(_kept_batches(batches, keep)):
                    buffer.add(kept)
                    rows_in += read
                    rows_out += kept.num_rows
                    pending_progress += read
                    if pending_progress >= PROGRESS_EVERY_ROWS:
                        _progress(version, pending_progress)
                        pending_progress = 0
                buffer.finish()
                crash_point("shard_partial")  # a temporary file half-written
                writer.close()
            index, changes = summary.result()
    _progress(version, pending_progress)
    if index is not None:
        _write_table(store, index_file, index)
    _write_table(store, f"{work_path(store, version.version)}/changes/{shard.name}", changes)
    return {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "bytes": written.bytes,
        "sha256": written.sha256,
    }


def _summarise(
    repositories: ShardRepositories,
    before: CompiledExclusions,
    changed: CompiledExclusions,
    with_index: bool,
) -> tuple[pa.Table | None, pa.Table]:
    """The shard's repository index (if asked) and its changes between the checkpoints."""
    runs = repositories.runs
    index = repository_index(runs) if with_index else None
    return index, shard_changes(runs, before=before, changed=changed)


def _kept_batches(
    batches: Iterator[pa.RecordBatch], keep: pa.Array
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(rows read, the batch's kept rows) for each source batch, in order."""
    offset = 0
    for batch in batches:
        mask = keep.slice(offset, batch.num_rows)
        offset += batch.num_rows
        # Nothing dropped: the batch itself, not a copy of it (same rows, same bytes out).
        yield batch.num_rows, batch if mask.true_count == batch.num_rows else batch.filter(mask)


def _read_ahead(items: Iterator[_Item], depth: int = READ_AHEAD_BATCHES) -> Iterator[_Item]:
    """The same items in the same order, produced by one background thread.

    One thread calls ``next`` in turn, so the order (and so the output bytes) is the
    source's; decoding and filtering happen there, off the encoding thread. Leaving
    early waits for at most ``depth`` items in flight.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-read") as pool:
        pending = deque(pool.submit(next, items, None) for _ in range(depth))
        while True:
            item = pending.popleft().result()
            if item is None:
                return
            pending.append(pool.submit(next, items, None))
            yield item


def _progress(version: DatasetVersion, rows: int) -> None:
    if rows:
        DatasetVersion.objects.filter(id=version.id).update(
            rows_done=F("rows_done") + rows, updated_at=timezone.now()
        )


def _write_table(store: Store, path: str, table: pa.Table) -> None:
    with store.atomic_writer(path) as (hashing, _written):
        pq.write_table(table, hashing, compression="zstd", compression_level=ZSTD_LEVEL)
