"""An export built from an earlier checkpoint's export file plus the log in between.

The list in force at a checkpoint is the list at any earlier checkpoint of the same log,
less the exclusions removed in between, plus those added in between and still in force,
in the same order (the log index that added each). So when an earlier checkpoint's file
is on disk, the new export copies it, dropping the lines (or Parquet rows) of the
exclusions removed since, and renders only the entries added since: it costs what
changed, not the size of the list. The bytes are those of a full render (tested), so
ETags, gzip files and pipelines cannot tell how an export was made.

Only a file whose name carries the root of the checkpoint the log signed at that size is
used: a file left by another database (a restored backup, a reloaded bench) is ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from registry.checkpoints import checkpoint_signed
from registry.export_entries import parquet_tables, text_lines
from registry.export_formats import (
    PARQUET_PAGE,
    PARQUET_SCHEMA,
    TEXT_RENDERERS,
    format_tag,
    parquet_bytes,
    regrouped,
)
from registry.export_store import ExportStore, export_name, read_chunks
from registry.models import Exclusion


def earlier_file(size: int, fmt: str, store: ExportStore) -> tuple[int, str] | None:
    """``(its size, name)`` of the newest plain export in ``fmt`` of an earlier checkpoint,
    if its name matches the checkpoint the log signed at that size."""
    suffix = f"{format_tag(fmt)}.{fmt}"  # plain files of this format's revision only
    sizes = [(int(name.partition("-")[0]), name) for name in store.names() if name.endswith(suffix)]
    earlier = [found for found in sizes if found[0] < size]
    if not earlier:
        return None
    base, name = max(earlier)
    checkpoint = checkpoint_signed(base)
    if checkpoint is None or export_name(base, checkpoint.root_hash, fmt, gzip=False) != name:
        return None
    return base, name


def _removed_between(base: int, size: int) -> list[tuple[str, str, int]]:
    """``(kind, subject, added_at_index)`` in force at ``base`` and removed before ``size``."""
    return list(
        Exclusion.objects.filter(
            added_at_index__lt=base, removed_at_index__gte=base, removed_at_index__lt=size
        )
        .order_by("added_at_index")
        .values_list("kind", "subject", "added_at_index")
    )


def derived_stream(size: int, fmt: str, store: ExportStore) -> Iterator[bytes] | None:
    """The export at ``size`` from an earlier checkpoint's file, or ``None`` without one."""
    found = earlier_file(size, fmt, store)
    if found is None:
        return None
    base, name = found
    removed = _removed_between(base, size)
    if fmt != "parquet":
        lines = [TEXT_RENDERERS[fmt]([row]) for row in removed]
        if any(line.count(b"\n") != 1 for line in lines):
            return None  # a multi-line record (a CSV field with a newline): render it all
    try:
        handle = store.open(name)  # now, before pruning can remove it (see read_chunks)
    except FileNotFoundError:
        return None
    if fmt == "parquet":
        return _parquet(handle, base, size, removed)
    return itertools.chain(
        _without_lines(read_chunks(handle), lines), text_lines(size, fmt, start=base)
    )


def _without_lines(chunks: Iterator[bytes], drop: list[bytes]) -> Iterator[bytes]:
    """The text of ``chunks`` less the lines ``drop`` (each with its newline).

    ``drop`` is in the file's order (by the log index that added each), and each line is in
    the file once, so one forward search finds them all: the file is scanned once, however
    many lines go. A line not found means the file is not the list it is named for; the
    stream then fails rather than end with lines it should have dropped.
    """
    pending = iter(drop)
    wanted = next(pending, None)
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"\n") + 1  # whole lines only; each chunk starts a line
        data, carry = data[:cut], data[cut:]
        start = 0
        while wanted is not None:
            found = _line_at(data, wanted, start)
            if found < 0:
                break
            if found > start:
                yield data[start:found]
            start = found + len(wanted)
            wanted = next(pending, None)
        if start < len(data):
            yield data[start:]
    if carry:
        yield carry
    if wanted is not None:
        raise RuntimeError(
            f"The export file lacks a line of an exclusion removed since its checkpoint "
            f"({wanted[:80]!r}); it is not the list its name says. Delete it."
        )


def _line_at(data: bytes, line: bytes, start: int) -> int:
    """Where ``line`` is a whole line of ``data`` at or after ``start``, else -1."""
    position = data.find(line, start)
    while position > 0 and data[position - 1] != 0x0A:  # inside a longer line
        position = data.find(line, position + 1)
    return position


def _parquet(
    handle: BinaryIO, base: int, size: int, removed: list[tuple[str, str, int]]
) -> Iterator[bytes]:
    gone = pa.array([index for _kind, _subject, index in removed], pa.uint64())
    kept = _kept_tables(handle, gone)
    return parquet_bytes(regrouped(itertools.chain(kept, parquet_tables(size, start=base))))


def _kept_tables(handle: BinaryIO, gone: pa.Array) -> Iterator[pa.Table]:
    with handle:
        reader = pq.ParquetFile(handle)
        for batch in reader.iter_batches(batch_size=PARQUET_PAGE):
            table = pa.Table.from_batches([batch]).cast(PARQUET_SCHEMA)
            if len(gone):
                table = table.filter(pc.invert(pc.is_in(table.column("index"), value_set=gone)))
            yield table
