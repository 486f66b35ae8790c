"""The exclusion list at one checkpoint, as streamed text, NDJSON, CSV or Parquet.

Rows come from ``Exclusion`` by keyset pages over ``added_at_index`` (the log index that
added each one), so memory stays flat whatever the list's size and the same checkpoint
always gives the same bytes. Formats (docs/api.md):

- ``txt``: one line each; a repository as ``host/owner/name``, a namespace as
  ``host/owner/*``;
- ``ndjson``: ``{"kind", "subject", "index"}`` a line;
- ``csv``: header ``kind,subject,index`` then one row each;
- ``parquet``: columns ``kind``, ``subject``, ``index``, one row group per page.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import Q

from registry.enums import ExclusionKind
from registry.models import Exclusion

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
PAGE = 50_000
_NAMESPACE = ExclusionKind.NAMESPACE.value


def pages_at(size: int, *, page: int = PAGE) -> Iterator[list[tuple[str, str, int]]]:
    """``(kind, subject, added_at_index)`` of the set in force at ``size``, page by page."""
    after = -1
    in_force = Q(removed_at_index__isnull=True) | Q(removed_at_index__gte=size)
    while True:
        rows = list(
            Exclusion.objects.filter(in_force, added_at_index__gt=after, added_at_index__lt=size)
            .order_by("added_at_index")
            .values_list("kind", "subject", "added_at_index")[:page]
        )
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        after = rows[-1][2]


def _txt(rows: list[tuple[str, str, int]]) -> bytes:
    lines = [f"{s}/*\n" if k == _NAMESPACE else f"{s}\n" for k, s, _ in rows]
    return "".join(lines).encode()


def _ndjson(rows: list[tuple[str, str, int]]) -> bytes:
    dumps = json.dumps
    return "".join(
        f'{{"kind":"{k}","subject":{dumps(s)},"index":{i}}}\n' for k, s, i in rows
    ).encode()


def _csv(rows: list[tuple[str, str, int]], *, header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(["kind", "subject", "index"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


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


PARQUET_SCHEMA = pa.schema(
    [("kind", pa.string()), ("subject", pa.string()), ("index", pa.uint64())]
)


def _parquet(size: int) -> Iterator[bytes]:
    sink = _Sink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd")
    for rows in pages_at(size):
        kinds, subjects, indexes = zip(*rows, strict=True)
        table = pa.table(
            {"kind": kinds, "subject": subjects, "index": indexes}, schema=PARQUET_SCHEMA
        )
        writer.write_table(table)
        yield sink.drain()
    writer.close()
    yield sink.drain()


def export_stream(size: int, fmt: str) -> Iterator[bytes]:
    if fmt == "parquet":
        yield from _parquet(size)
        return
    first = True
    for rows in pages_at(size):
        if fmt == "txt":
            yield _txt(rows)
        elif fmt == "ndjson":
            yield _ndjson(rows)
        else:
            yield _csv(rows, header=first)
        first = False
    if fmt == "csv" and first:
        yield _csv([], header=True)


def gzip_stream(chunks: Iterator[bytes], *, level: int = 1) -> Iterator[bytes]:
    """Gzip as we go; level 1 because pipelines care about throughput more than bytes."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()
