"""The export's formats: what a page of entries looks like as text, NDJSON, CSV or Parquet.

An entry is ``(kind, subject, added_at_index)``; docs/api.md describes each format. A row's
bytes never depend on its neighbours, and Parquet row groups hold exactly ``PARQUET_PAGE``
rows (the last may be shorter), so the same entries always give the same bytes, however
they were read or derived (``registry.export_derive``).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zlib
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from registry.enums import ExclusionKind

Rows = list[tuple[str, str, int]]

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
# A format whose bytes for a checkpoint changed gets a revision, carried by its files' names
# and its ETag: a file or an ETag of the old bytes is then never taken for the new ones.
# Parquet revision 2: only ``kind`` dictionary-encoded (subjects are unique: a dictionary of
# them made the file larger and slower to write).
FORMAT_REVISIONS = {"parquet": 2}
PARQUET_PAGE = 20_000
PARQUET_SCHEMA = pa.schema(
    [("kind", pa.string()), ("subject", pa.string()), ("index", pa.uint64())]
)
_NAMESPACE = ExclusionKind.NAMESPACE.value


def format_tag(fmt: str) -> str:
    """``-r<n>`` for a format with a revision, else empty."""
    revision = FORMAT_REVISIONS.get(fmt)
    return f"-r{revision}" if revision else ""


def _txt(rows: Rows) -> bytes:
    return "".join(f"{s}/*\n" if k == _NAMESPACE else f"{s}\n" for k, s, _ in rows).encode()


def _ndjson(rows: Rows) -> bytes:
    dumps = functools.partial(json.dumps, ensure_ascii=False)
    return "".join(
        f'{{"kind":"{k}","subject":{dumps(s)},"index":{i}}}\n' for k, s, i in rows
    ).encode()


def csv_rows(rows: Rows, *, header: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(["kind", "subject", "index"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


TEXT_RENDERERS: dict[str, Callable[[Rows], bytes]] = {
    "txt": _txt,
    "ndjson": _ndjson,
    "csv": csv_rows,
}


def parquet_table(rows: Rows) -> pa.Table:
    kinds, subjects, indexes = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table(
        {"kind": list(kinds), "subject": list(subjects), "index": list(indexes)},
        schema=PARQUET_SCHEMA,
    )


def regrouped(tables: Iterator[pa.Table], rows: int | None = None) -> Iterator[pa.Table]:
    """The same rows in tables of exactly ``rows`` (default ``PARQUET_PAGE``) rows, the last
    may be shorter, each in one chunk: the bytes of a row group depend on its rows, not on
    how Arrow held them."""
    rows = rows or PARQUET_PAGE
    pending: list[pa.Table] = []
    held = 0
    for table in tables:
        if table.num_rows == 0:
            continue
        pending.append(table)
        held += table.num_rows
        while held >= rows:
            joined = pa.concat_tables(pending)
            yield joined.slice(0, rows).combine_chunks()
            rest = joined.slice(rows)
            pending, held = ([rest] if rest.num_rows else []), rest.num_rows
    if held:
        yield pa.concat_tables(pending).combine_chunks()


class _Sink(io.RawIOBase):
    """A write-only file that hands each write to the stream (Parquet footer included)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.offset

    def drain(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def parquet_bytes(tables: Iterator[pa.Table]) -> Iterator[bytes]:
    """A Parquet file with one row group per table, streamed as it is written."""
    sink = _Sink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd", use_dictionary=["kind"])
    pool = pa.default_memory_pool()
    for table in tables:
        writer.write_table(table)
        del table
        pool.release_unused()  # else the worker keeps what Arrow freed
        yield sink.drain()
    writer.close()
    yield sink.drain()


def gzip_stream(chunks: Iterator[bytes], *, level: int = 1) -> Iterator[bytes]:
    """Gzip as we go; level 1 because pipelines care about throughput more than bytes."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()
