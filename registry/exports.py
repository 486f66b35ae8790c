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

import contextlib
import csv
import functools
import io
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection
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
    dumps = functools.partial(json.dumps, ensure_ascii=False)  # as PostgreSQL's to_json
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


PARQUET_PAGE = 20_000


def _parquet(size: int) -> Iterator[bytes]:
    sink = _Sink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd")
    pool = pa.default_memory_pool()
    # Smaller pages than the text formats, and Arrow's allocator told to hand back what it
    # freed after each: otherwise the worker keeps tens of MB once the export is done.
    for rows in pages_at(size, page=PARQUET_PAGE):
        kinds, subjects, indexes = zip(*rows, strict=True)
        table = pa.table(
            {"kind": kinds, "subject": subjects, "index": indexes}, schema=PARQUET_SCHEMA
        )
        writer.write_table(table)
        del table
        pool.release_unused()
        yield sink.drain()
    writer.close()
    pool.release_unused()
    yield sink.drain()


# On PostgreSQL the text formats are rendered by the database, one page per query: Python
# then only moves bytes, which is what lets one worker stream millions of entries a second.
# The expressions give exactly the bytes of the Python renderers above (tested on both).
_PG_LINES = {
    "txt": "subject || CASE WHEN kind = 'namespace' THEN '/*' ELSE '' END || E'\\n'",
    "ndjson": (
        '\'{"kind":"\' || kind || \'","subject":\' || to_json(subject)::text'
        " || ',\"index\":' || added_at_index || E'}\\n'"
    ),
    "csv": (
        "kind || ',' || CASE WHEN subject ~ '[\",\\r\\n]' THEN"
        " '\"' || replace(subject, '\"', '\"\"') || '\"' ELSE subject END"
        " || ',' || added_at_index || E'\\n'"
    ),
}


def _pg_pages(size: int, fmt: str, *, page: int = PAGE) -> Iterator[bytes]:
    sql = f"""
        SELECT string_agg(line, ''), max(added_at_index), count(*)
        FROM (
            SELECT added_at_index, {_PG_LINES[fmt]} AS line
            FROM registry_exclusion
            WHERE added_at_index > %s AND added_at_index < %s
              AND (removed_at_index IS NULL OR removed_at_index >= %s)
            ORDER BY added_at_index
            LIMIT %s
        ) AS page
    """  # noqa: S608 - the interpolated expression is one of the constants above
    # No ORDER BY inside string_agg: the page is already sorted (it must be, for LIMIT),
    # and PostgreSQL aggregates a sorted subquery's rows in their order (its manual's own
    # idiom). Sorting again in the aggregate was 60% of a cold export (docs/benchmarks.md).
    after = -1
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [after, size, size, page])
            text, last, count = cursor.fetchone()
            if not count:
                return
            yield text.encode()
            if count < page:
                return
            after = last


def export_stream(size: int, fmt: str, *, in_database: bool = True) -> Iterator[bytes]:
    """The export's bytes; ``in_database=False`` forces the Python renderers (tests)."""
    if fmt == "parquet":
        yield from _parquet(size)
        return
    if in_database and connection.vendor == "postgresql":
        if fmt == "csv":
            yield _csv([], header=True)
        yield from _pg_pages(size, fmt)
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


# --- materialised exports ----------------------------------------------------------------
# An export is immutable per checkpoint, format and encoding, like a release file. The first
# request streams it from the database and writes it beside the response; later requests
# are served from that file (gunicorn sends it with sendfile), so the list costs the
# database once per checkpoint, not once per pipeline.

KEEP_CHECKPOINTS = 3


def export_dir() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def export_path(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> Path:
    return export_dir() / f"{size}-{root_hash.hex()[:32]}.{fmt}{'.gz' if gzip else ''}"


def materialise(chunks: Iterator[bytes], path: Path) -> Iterator[bytes]:
    """Yield ``chunks`` while writing them to ``path``; the file appears only when complete
    (rename), and a client that goes away mid-stream leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    complete = False
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                yield chunk
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        complete = True
        _prune(path.parent)
    finally:
        if not complete:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


def _read_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def export_file(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> bool:
    """Write the checkpoint's export file unless it exists; True when this call wrote it.

    A gzip file is compressed from the plain file when that exists (same bytes as
    compressing the database's stream, without reading the database again).
    """
    path = export_path(size, root_hash, fmt, gzip=gzip)
    if path.exists():
        return False
    plain = export_path(size, root_hash, fmt, gzip=False)
    if gzip and plain.exists():
        chunks = gzip_stream(_read_chunks(plain))
    else:
        stream = export_stream(size, fmt)
        chunks = gzip_stream(stream) if gzip else stream
    for _ in materialise(chunks, path):
        pass
    return True


def precompute(size: int, *, superseded: Callable[[], bool]) -> list[str]:
    """Write every format, plain and gzip, of the checkpoint of ``size``, so that pipelines
    never wait for the database; stops as soon as ``superseded()`` says a newer checkpoint
    exists (its own task builds that one). Returns the file names written."""
    from registry.checkpoints import checkpoint_signed

    checkpoint = checkpoint_signed(size)
    written: list[str] = []
    for fmt in FORMATS:
        for gzip in (False, True):
            if checkpoint is None or superseded():
                return written
            if export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip):
                written.append(export_path(size, checkpoint.root_hash, fmt, gzip=gzip).name)
    return written


def _prune(folder: Path) -> None:
    """Keep the files of the newest few checkpoints; an open file stays readable (POSIX)."""
    sizes = sorted(
        {int(p.name.split("-", 1)[0]) for p in folder.iterdir() if p.name[0].isdigit()},
        reverse=True,
    )
    for old in sizes[KEEP_CHECKPOINTS:]:
        for stale in folder.glob(f"{old}-*"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
