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
import queue
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
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
T = TypeVar("T")
_NAMESPACE = ExclusionKind.NAMESPACE.value


def pages_at(
    size: int, *, page: int = PAGE, start: int = 0
) -> Iterator[list[tuple[str, str, int]]]:
    """``(kind, subject, added_at_index)`` of the set in force at ``size``, page by page;
    ``start``: only those added at that log index or later."""
    after = start - 1
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


def _csv(rows: list[tuple[str, str, int]], *, header: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(["kind", "subject", "index"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


# Each renders a page of rows; a row's bytes never depend on its neighbours.
TEXT_RENDERERS: dict[str, Callable[[list[tuple[str, str, int]]], bytes]] = {
    "txt": _txt,
    "ndjson": _ndjson,
    "csv": _csv,
}


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


# A format whose bytes for a checkpoint changed gets a revision, carried by its files' names
# and its ETag: a file or an ETag of the old bytes is then never taken for the new ones.
# Parquet revision 2: only ``kind`` dictionary-encoded (a dictionary of unique subjects made
# the file 2.8x larger and its encoding 1.6x slower).
FORMAT_REVISIONS = {"parquet": 2}


def format_tag(fmt: str) -> str:
    """``-r<n>`` for a format with a revision, else empty."""
    revision = FORMAT_REVISIONS.get(fmt)
    return f"-r{revision}" if revision else ""


PARQUET_SCHEMA = pa.schema(
    [("kind", pa.string()), ("subject", pa.string()), ("index", pa.uint64())]
)


PARQUET_PAGE = 20_000


_END = object()
EXPORT_LANES = 2  # database connections that render a cold export's pages side by side


class _Ahead:
    """What ``pages()`` yields, produced ahead in a thread with its own database connection:
    the database works on the next page while the caller renders and sends the current one
    (a cold export was the sum of the two). At most ``depth`` pages wait in memory. The
    thread starts at once; ``close()`` (also on leaving the iteration) stops it.
    """

    def __init__(self, pages: Callable[[], Iterator[T]], *, depth: int = 1) -> None:
        self._ready: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(pages,), name="export-pages", daemon=True
        )
        self._thread.start()

    def _hand_over(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, pages: Callable[[], Iterator[T]]) -> None:
        try:
            for item in pages():
                if not self._hand_over(item):
                    return
            self._hand_over(_END)
        except BaseException as exc:  # re-raised in the consumer
            self._hand_over(exc)
        finally:
            connection.close()  # this thread's own connection

    def __iter__(self) -> Iterator[T]:
        try:
            while (item := self._ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()  # also when the consumer stops early (a client went away)
        self._thread.join()


def produced_ahead(pages: Callable[[], Iterator[T]]) -> Iterator[T]:
    """``pages()`` produced ahead in a thread (``_Ahead``), but only outside a transaction:
    the other connection sees committed rows only. That is all a signed checkpoint's list is
    made of, but not what a caller's open transaction (a test's, for one) holds; there the
    pages are produced in this thread."""
    if connection.in_atomic_block:
        return pages()
    return iter(_Ahead(pages))


def _interleaved(lanes: list[Callable[[], Iterator[T]]]) -> Iterator[T]:
    """Lane 0's first item, lane 1's first, lane 0's second, …: each lane in a thread with
    its own connection (``_Ahead``), outside a transaction; in this thread inside one."""
    if connection.in_atomic_block:
        iterators = [lane() for lane in lanes]
        closers: list = []
    else:
        running = [_Ahead(lane) for lane in lanes]
        iterators, closers = [iter(a) for a in running], running
    try:
        while True:
            for iterator in iterators:
                item = next(iterator, _END)
                if item is _END:
                    return
                yield item
    finally:
        for ahead in closers:
            ahead.close()


def parquet_tables(size: int, *, start: int = 0, in_database: bool = True) -> Iterator[pa.Table]:
    """The entries in force at ``size`` added at ``start`` or later, in tables of
    ``PARQUET_PAGE`` rows (the last may be shorter)."""
    if in_database and connection.vendor == "postgresql":
        tables = (_table(page) for page in _pg_column_pages(size, start=start))
        return regrouped(tables, PARQUET_PAGE)
    return (_python_table(rows) for rows in pages_at(size, page=PARQUET_PAGE, start=start))


def parquet_bytes(tables: Iterator[pa.Table]) -> Iterator[bytes]:
    """A Parquet file with one row group per table, streamed as it is written."""
    sink = _Sink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd", use_dictionary=["kind"])
    pool = pa.default_memory_pool()
    # Smaller pages than the text formats, and Arrow's allocator told to hand back what it
    # freed after each: otherwise the worker keeps tens of MB once the export is done.
    for table in tables:
        writer.write_table(table)
        del table
        pool.release_unused()
        yield sink.drain()
    writer.close()
    pool.release_unused()
    yield sink.drain()


def _python_table(rows: list[tuple[str, str, int]]) -> pa.Table:
    kinds, subjects, indexes = zip(*rows, strict=True)
    return pa.table({"kind": kinds, "subject": subjects, "index": indexes}, schema=PARQUET_SCHEMA)


def regrouped(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The same rows in tables of exactly ``rows`` rows (the last may be shorter), each in
    one chunk: a full render writes one row group per page of that many rows, and the
    bytes of a row group depend on its rows, not on how Arrow held them."""
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


# --- PostgreSQL ---------------------------------------------------------------------------
# On PostgreSQL the database does the per-row work: Python only moves bytes or calls Arrow
# on whole columns, which is what lets one worker stream millions of entries a second. A
# page is a range of ``PAGE`` log indexes (fewer entries where some were removed), so that
# ``EXPORT_LANES`` connections read alternate pages at the same time: the database's work is
# most of a cold export, and a page does not wait for the last. Text comes back as bytes
# (psycopg2's BYTES caster): decoding to str only to encode it again cost a pass over each.


def _pg_range_pages(
    size: int, fetch: Callable, *, start: int, page: int = PAGE, lanes: int = EXPORT_LANES
) -> Iterator[T]:
    """``fetch(cursor, first, end, size)`` for each page of log indexes from ``start`` up to
    ``size``, in order, read by ``lanes`` connections in turn."""
    starts = range(start, size, page)

    def lane(number: int) -> Callable[[], Iterator[T]]:
        def pages() -> Iterator[T]:
            with connection.cursor() as cursor:
                psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
                for first in starts[number::lanes]:
                    yield fetch(cursor, first, min(first + page, size), size)

        return pages

    return _interleaved([lane(number) for number in range(max(1, lanes))])


_IN_FORCE = """
    FROM registry_exclusion
    WHERE added_at_index >= %s AND added_at_index < %s
      AND (removed_at_index IS NULL OR removed_at_index >= %s)
    ORDER BY added_at_index
"""
# The text formats' lines, rendered by the database: exactly the bytes of the Python
# renderers above (tested on both).
_PG_LINES = {
    "txt": "subject || CASE WHEN kind = 'namespace' THEN '/*' ELSE '' END || E'\\n'",
    "csv": (
        "kind || ',' || CASE WHEN subject ~ '[\",\\r\\n]' THEN"
        " '\"' || replace(subject, '\"', '\"\"') || '\"' ELSE subject END"
        " || ',' || added_at_index || E'\\n'"
    ),
}


def _pg_pages(
    size: int, fmt: str, *, page: int = PAGE, lanes: int = EXPORT_LANES, start: int = 0
) -> Iterator[bytes]:
    """The text export's pages (``_PG_LINES``), each rendered by PostgreSQL."""
    # No ORDER BY inside string_agg: the page is already sorted, and PostgreSQL aggregates
    # a sorted subquery's rows in their order (its manual's own idiom). Sorting again in
    # the aggregate was 60% of a cold export (docs/benchmarks.md).
    sql = f"SELECT string_agg(line, '') FROM (SELECT {_PG_LINES[fmt]} AS line {_IN_FORCE}) p"  # noqa: S608 - constants only

    def fetch(cursor, first: int, end: int, size: int) -> bytes:
        cursor.execute(sql, [first, end, size])
        return cursor.fetchone()[0] or b""

    return _pg_range_pages(size, fetch, start=start, page=page, lanes=lanes)


# A page's columns in three values: a letter per row for the kind, the subjects joined by
# newlines and the indexes by commas. Arrow splits them; no Python object is made per row.
_PG_COLUMNS = f"""
    SELECT string_agg(CASE kind WHEN 'namespace' THEN 'n' WHEN 'repository' THEN 'r'
                                ELSE '?' END, ''),
           string_agg(subject, E'\\n'), string_agg(added_at_index::text, ','), count(*)
    FROM (SELECT kind, subject, added_at_index {_IN_FORCE}) AS page
"""  # noqa: S608 - constants only
# Every byte a subject may hold without JSON escaping it, the newline excepted.
_JSON_PLAIN = bytes(b for b in range(0x20, 0x100) if b not in b'"\\')


@dataclass(frozen=True)
class Columns:
    """A page of entries as Arrow arrays."""

    namespace: pa.BooleanArray  # the kind: namespace or repository
    subject: pa.StringArray
    index: pa.StringArray  # the log index, in decimal
    json_plain: bool  # no subject holds a character JSON escapes


Rows = list[tuple[str, str, int]]


def _pg_column_pages(
    size: int, *, start: int, page: int = PAGE, lanes: int = EXPORT_LANES
) -> Iterator[Columns | Rows]:
    """The pages' entries as ``Columns``, or as rows where some value does not fit them
    (a kind this code does not know, a subject holding a newline: no canonical id does).
    Empty pages are skipped."""

    def fetch(cursor, first: int, end: int, size: int) -> Columns | Rows | None:
        cursor.execute(_PG_COLUMNS, [first, end, size])
        flags, subjects, indexes, count = cursor.fetchone()
        if not count:
            return None
        subject = pc.split_pattern(pa.array([subjects], pa.binary()), b"\n").flatten()
        if b"?" in flags or len(subject) != count:
            return _rows_between(first, end, size)
        return Columns(
            namespace=pc.equal(
                pa.Array.from_buffers(pa.uint8(), count, [None, pa.py_buffer(flags)]), ord("n")
            ),
            subject=subject.cast(pa.string()),
            index=pc.split_pattern(pa.array([indexes], pa.binary()), b",")
            .flatten()
            .cast(pa.string()),
            # Only the newlines between subjects are left once the plain bytes are gone.
            json_plain=len(subjects.translate(None, _JSON_PLAIN)) == count - 1,
        )

    pages = _pg_range_pages(size, fetch, start=start, page=page, lanes=lanes)
    return (page for page in pages if page is not None)


def _rows_between(first: int, end: int, size: int) -> Rows:
    in_force = Q(removed_at_index__isnull=True) | Q(removed_at_index__gte=size)
    return list(
        Exclusion.objects.filter(in_force, added_at_index__gte=first, added_at_index__lt=end)
        .order_by("added_at_index")
        .values_list("kind", "subject", "added_at_index")
    )


def _table(page: Columns | Rows) -> pa.Table:
    if isinstance(page, list):
        return _python_table(page)
    kind = pc.if_else(page.namespace, "namespace", "repository")
    index = pc.cast(page.index, pa.uint64())
    return pa.Table.from_arrays([kind, page.subject, index], schema=PARQUET_SCHEMA)


_NDJSON_NAMESPACE = pa.scalar('{"kind":"namespace","subject":"')
_NDJSON_REPOSITORY = pa.scalar('{"kind":"repository","subject":"')


def _ndjson_page(page: Columns | Rows) -> bytes:
    """``_ndjson`` of the page, joined by Arrow when no subject needs escaping."""
    if isinstance(page, list):
        return _ndjson(page)
    if not page.json_plain:
        return _ndjson(_page_rows(page))
    kind = pc.if_else(page.namespace, _NDJSON_NAMESPACE, _NDJSON_REPOSITORY)
    lines = pc.binary_join_element_wise(kind, page.subject, '","index":', page.index, "}\n", "")
    return _joined(lines)


def _page_rows(page: Columns) -> Rows:
    kinds = ["namespace" if n else "repository" for n in page.namespace.to_pylist()]
    indexes = [int(i) for i in page.index.to_pylist()]
    return list(zip(kinds, page.subject.to_pylist(), indexes, strict=True))


def _joined(strings: pa.StringArray) -> bytes:
    """The values of a string array, end to end: a slice of its data buffer."""
    offsets = memoryview(strings.buffers()[1]).cast("i")
    first, end = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return memoryview(strings.buffers()[2])[first:end].tobytes()


def text_lines(size: int, fmt: str, *, start: int = 0, in_database: bool = True) -> Iterator[bytes]:
    """The lines of a text export (no CSV header) of the entries in force at ``size`` added
    at ``start`` or later."""
    if in_database and connection.vendor == "postgresql":
        if fmt == "ndjson":
            pool = pa.default_memory_pool()
            for page in _pg_column_pages(size, start=start):
                yield _ndjson_page(page)
                del page
                pool.release_unused()  # as parquet_bytes does: else the worker keeps it
        else:
            yield from _pg_pages(size, fmt, start=start)
        return
    render = TEXT_RENDERERS[fmt]
    for rows in pages_at(size, start=start):
        yield render(rows)


def export_stream(size: int, fmt: str, *, in_database: bool = True) -> Iterator[bytes]:
    """The export's bytes; ``in_database=False`` forces the Python renderers (tests)."""
    if fmt == "parquet":
        yield from parquet_bytes(parquet_tables(size, in_database=in_database))
        return
    if fmt == "csv":
        yield _csv([], header=True)
    yield from text_lines(size, fmt, in_database=in_database)


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
VARIANTS = [(fmt, gzip) for fmt in FORMATS for gzip in (False, True)]  # what a checkpoint has
ABANDONED_AFTER = 3600  # seconds without a write before a temporary export file is removed


def export_dir() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def export_path(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> Path:
    name = f"{size}-{root_hash.hex()[:32]}{format_tag(fmt)}.{fmt}{'.gz' if gzip else ''}"
    return export_dir() / name


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
        # Missing only if pruned as abandoned (no write for an hour): the body sent is whole.
        with contextlib.suppress(FileNotFoundError):
            os.replace(tmp_name, path)
        complete = True
        _prune(path.parent)
    finally:
        if not complete:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


def read_chunks(handle: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """An open file's bytes, a chunk at a time; closes it at the end. Callers open the
    file first: pruning may unlink it once newer ones exist, and an open file stays
    readable."""
    with handle:
        while chunk := handle.read(size):
            yield chunk


def export_chunks(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> Iterator[bytes]:
    """The export's bytes from their cheapest source: a gzip body is compressed from the
    plain file when that is already written (the same bytes as compressing the database's
    stream, which is not read again); else an earlier checkpoint's file plus the log in
    between (``registry.export_derive``); else everything comes from the database."""
    from registry.export_derive import derived_stream  # it builds on this module

    plain = export_path(size, root_hash, fmt, gzip=False)
    if gzip and plain.exists():
        return gzip_stream(read_chunks(plain.open("rb")))
    stream = derived_stream(size, fmt) or export_stream(size, fmt)
    return gzip_stream(stream) if gzip else stream


def export_file(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> bool:
    """Write the checkpoint's export file unless it exists; True when this call wrote it."""
    path = export_path(size, root_hash, fmt, gzip=gzip)
    if path.exists():
        return False
    for _ in materialise(export_chunks(size, root_hash, fmt, gzip=gzip), path):
        pass
    return True


def precompute(size: int, *, superseded: Callable[[], bool]) -> list[str]:
    """Write every format, plain and gzip, of the checkpoint of ``size``, so that pipelines
    never wait for the database; stops as soon as ``superseded()`` says a newer checkpoint
    exists (its own task builds that one). Returns the file names written."""
    from registry.checkpoints import checkpoint_signed

    checkpoint = checkpoint_signed(size)
    written: list[str] = []
    for fmt, gzip in VARIANTS:
        if checkpoint is None or superseded():
            return written
        if export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip):
            written.append(export_path(size, checkpoint.root_hash, fmt, gzip=gzip).name)
    return written


def export_paths(size: int, root_hash: bytes) -> list[Path]:
    """Every file ``precompute`` writes for the checkpoint."""
    return [export_path(size, root_hash, fmt, gzip=gzip) for fmt, gzip in VARIANTS]


def _prune(folder: Path) -> None:
    """Keep the files of the newest few checkpoints; an open file stays readable (POSIX).

    Also removes temporary files nobody has written to for ``ABANDONED_AFTER`` seconds: a
    worker or gunicorn process killed mid-build (a crash, the task's hard time limit)
    cannot remove its own, and they would pile up. A build that is alive writes a page
    every few milliseconds.
    """
    cutoff = time.time() - ABANDONED_AFTER
    for partial in folder.glob(".partial-*"):
        with contextlib.suppress(FileNotFoundError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
    sizes = sorted(
        {int(p.name.split("-", 1)[0]) for p in folder.iterdir() if p.name[0].isdigit()},
        reverse=True,
    )
    for old in sizes[KEEP_CHECKPOINTS:]:
        for stale in folder.glob(f"{old}-*"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
