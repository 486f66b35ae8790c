"""Write a shard's kept rows as one Parquet file, encoded by several threads at once.

The kept rows fill output row groups of exactly ``ROW_GROUP_ROWS`` rows. The row groups
are split into consecutive parts, one a thread: each part reads only the source rows
that feed its row groups, filters and encodes them (pyarrow releases the GIL for both),
and writes a Parquet file of its own; the parts are then joined without decoding
(``parquet_join``). Compressing is most of a release's work, so a shard keeps as many
cores busy as it has parts, and memory is bounded by a row group and a source batch
a part.

The bytes depend only on the source and the keep mask, never on the number of parts:
source batches are cut on one grid (``BATCH_ROWS`` rows from the start of each source
row group), so every output row group is encoded from the same chunks whichever part
writes it, and joining gives the file a single writer would have written.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.releases.parquet_join import Part, PartCopier, part_from_tail, write_footer
from governance.releases.storage import AppendOnlyFile

ZSTD_LEVEL = 3  # explicit: the bytes of a version depend on it
ROW_GROUP_ROWS = 8192  # rows per output row group (~20 MB of Stack-v2-like content)
# Source rows decoded at a time. Output bytes depend on it (it cuts the chunks handed
# to the encoder), so it is fixed, not tuned per machine.
BATCH_ROWS = 2048
PROGRESS_SECONDS = 0.5
COPY_SECONDS = 0.02  # how often a part's file is copied while it is written

OpenSource = Callable[[], AbstractContextManager[BinaryIO]]


def part_ranges(keep: pa.BooleanArray, parts: int, group_rows: int) -> list[tuple[int, int]]:
    """Source row ranges [start, stop), one a part, each feeding whole output row groups.

    A part starts at the source row of its first row group's first kept row; the dropped
    rows before it belong to the part before. Together the ranges cover every row once.
    """
    kept = pc.indices_nonzero(keep)
    groups = -(-len(kept) // group_rows)
    parts = max(1, min(parts, groups))
    cuts = [kept[k * groups // parts * group_rows].as_py() for k in range(1, parts)]
    bounds = [0, *cuts, len(keep)]
    return list(itertools.pairwise(bounds))


def write_shard(
    open_source: OpenSource,
    metadata: pq.FileMetaData,
    keep: pa.BooleanArray,
    sink: BinaryIO,
    *,
    threads: int,
    scratch: str,
    on_rows: Callable[[int], None],
    group_rows: int | None = None,
    batch_rows: int | None = None,
) -> None:
    """Write the kept rows into ``sink`` as one Parquet file, with up to ``threads`` threads.

    ``metadata`` is the source's footer, read once by the caller: each part opens the
    source on its own handle without parsing it again.

    The first part is written straight into ``sink``; the others to local files named
    ``<scratch>.part<n>-<token>.tmp`` (removed afterwards), copied after it. ``on_rows``
    is called on this thread, about every ``PROGRESS_SECONDS``, with the source rows read
    since its last call. ``group_rows`` and ``batch_rows`` default to ``ROW_GROUP_ROWS``
    and ``BATCH_ROWS``.
    """
    group_rows = group_rows or ROW_GROUP_ROWS
    batch_rows = batch_rows or BATCH_ROWS
    ranges = part_ranges(keep, threads, group_rows)
    options = _PartOptions(metadata, _dictionary_columns(metadata), group_rows, batch_rows)
    token = uuid.uuid4().hex
    paths = [None] + [f"{scratch}.part{number}-{token}.tmp" for number in range(1, len(ranges))]
    try:
        parts = _run_parts(open_source, keep, ranges, paths, sink, on_rows, options)
        write_footer(parts, sink)
    finally:
        for path in paths[1:]:
            if os.path.exists(path):
                os.unlink(path)


def _run_parts(
    open_source: OpenSource,
    keep: pa.BooleanArray,
    ranges: list[tuple[int, int]],
    paths: list[str | None],
    sink: BinaryIO,
    on_rows: Callable[[int], None],
    options: _PartOptions,
) -> list[Part]:
    """Each range written to its path (None: into ``sink``), one thread each, and every
    part's row groups appended to ``sink`` in order; the first error is raised.

    Once the parts before it are in ``sink``, a part's file is copied as its writer fills
    it, on this thread: a part that finishes early leaves a core free, and copying the
    next one then costs no time at the end.
    """
    progress = _Progress()
    with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="shard-part") as pool:
        futures = [
            pool.submit(_write_part, open_source, keep, rows, path, sink, progress, options)
            for rows, path in zip(ranges, paths, strict=True)
        ]
        parts = []
        try:
            for future, path in zip(futures, paths, strict=True):
                parts.append(
                    _appended(futures, future, path, sink, lambda: progress.report(on_rows))
                )
            on_rows(progress.take())
        finally:
            progress.stopped = True  # after an error, the other parts stop at their next batch
    return parts


def _appended(
    futures: list[Future], future: Future, path: str | None, sink: BinaryIO, report: Callable
) -> Part:
    """One part once done, its file copied into ``sink`` meanwhile (None: written there)."""
    if path is None:
        while not _settled(futures, future, PROGRESS_SECONDS):
            report()
        return future.result()
    with PartCopier(path) as copier:
        while not _settled(futures, future, COPY_SECONDS):
            copier.copy_available(sink)
            report()
        part = future.result()
        copier.finish(sink, part.data_end)
    return part


def _settled(futures: list[Future], future: Future, timeout: float) -> bool:
    """Whether ``future`` is done, waiting up to ``timeout``; any part's error is raised."""
    wait([future], timeout=timeout)
    for each in futures:
        if each.done() and each.exception() is not None:
            raise each.exception()
    return future.done()


def _write_part(
    open_source: OpenSource,
    keep: pa.BooleanArray,
    rows: tuple[int, int],
    path: str | None,
    sink: BinaryIO,
    progress: _Progress,
    options: _PartOptions,
) -> Part | None:
    """One part's rows as a Parquet file at ``path`` (None: into ``sink``), its footer kept
    apart; None if it stopped because another part failed."""
    target = nullcontext(sink) if path is None else open(path, "wb")  # noqa: SIM115
    with open_source() as handle, target as out:
        reader = pq.ParquetFile(handle, metadata=options.metadata)
        held = _FooterHeld(out)
        with pq.ParquetWriter(
            held,
            reader.schema_arrow,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            use_dictionary=options.dictionary_columns,
            write_page_index=False,  # parts are joined: see parquet_join
        ) as writer:
            buffer = _RowGroupBuffer(writer, options.group_rows)
            for start, batch in _batches_between(reader, *rows, options.batch_rows):
                if progress.stopped:
                    return None  # another part failed: what it wrote is thrown away
                mask = keep.slice(start, batch.num_rows)
                # Nothing dropped: the batch itself, not a copy (same rows, same bytes).
                buffer.add(batch if mask.true_count == batch.num_rows else batch.filter(mask))
                progress.add(batch.num_rows)
            buffer.finish()
            held.hold()  # closing writes the footer only: every row group is written
    return part_from_tail(path, held.data_end, bytes(held.tail))


class _FooterHeld(AppendOnlyFile):
    """A part writer's file: writes go to ``target`` until ``hold``, then are kept in
    ``tail`` (the footer the join replaces), so the first part can be written in place."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self.data_end = 0
        self.tail: bytearray | None = None

    def write(self, data: bytes | memoryview) -> int:
        size = memoryview(data).nbytes
        if self.tail is not None:
            self.tail += data
        else:
            self._target.write(data)
            self.data_end += size
        return size

    def hold(self) -> None:
        self.tail = bytearray()

    def tell(self) -> int:
        return self.data_end + len(self.tail or b"")

    def flush(self) -> None:
        if self.tail is None:
            self._target.flush()


def _batches_between(
    reader: pq.ParquetFile, start: int, stop: int, batch_rows: int
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(first source row, batch) for the source rows [start, stop), cut on the grid."""
    group_start = 0
    for index in range(reader.metadata.num_row_groups):
        group_stop = group_start + reader.metadata.row_group(index).num_rows
        if group_start < stop and start < group_stop:
            batch_start = group_start
            batches = reader.iter_batches(
                batch_size=batch_rows, row_groups=[index], use_threads=False
            )
            for batch in batches:
                low, high = max(start, batch_start), min(stop, batch_start + batch.num_rows)
                if low < high:
                    yield low, batch.slice(low - batch_start, high - low)
                batch_start += batch.num_rows
                if batch_start >= stop:
                    break
        group_start = group_stop


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


def _dictionary_columns(metadata: pq.FileMetaData) -> list[str]:
    """Columns worth dictionary-encoding: not long free text such as file contents.

    Trying a dictionary on ``content`` costs time and then falls back to plain encoding
    anyway. Decided from the source's first row group, so it is deterministic.
    """
    schema = metadata.schema.to_arrow_schema()
    if metadata.num_row_groups == 0 or metadata.num_rows == 0:
        return list(schema.names)
    group = metadata.row_group(0)
    names = []
    for index, field in enumerate(schema):
        average = group.column(index).total_uncompressed_size / max(group.num_rows, 1)
        if not (pa.types.is_string(field.type) or pa.types.is_binary(field.type)) or average < 64:
            names.append(field.name)
    return names


@dataclass(frozen=True)
class _PartOptions:
    """What every part of a shard writes with: the same for all, decided once."""

    metadata: pq.FileMetaData
    dictionary_columns: list[str]
    group_rows: int
    batch_rows: int


class _Progress:
    """Rows read by the part threads since the last ``take``; ``stopped`` once one failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows = 0
        self._reported = time.monotonic()
        self.stopped = False

    def report(self, on_rows: Callable[[int], None]) -> None:
        """``on_rows`` with the rows read since, if ``PROGRESS_SECONDS`` have passed."""
        if time.monotonic() - self._reported >= PROGRESS_SECONDS:
            self._reported = time.monotonic()
            on_rows(self.take())

    def add(self, rows: int) -> None:
        with self._lock:
            self._rows += rows

    def take(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, 0
        return rows
