"""Reading a checkpoint's entries for an export, a page at a time.

The entries in force at log size ``size`` are the exclusions added before it and not removed
before it, in the order they were added (``added_at_index``, indexed). Each page is one
query, so memory stays flat whatever the list's size, no cursor outlives its query
(PgBouncer's transaction mode), and the same size always gives the same entries.

On PostgreSQL the database does the per-row work: a page is a range of ``PAGE`` log indexes
(fewer entries where some were removed), whose text lines PostgreSQL renders and joins in
one value (the bytes of the Python renderers, tested), and whose Parquet columns come as
three joined strings that Arrow splits without a Python object per row. Elsewhere (SQLite)
pages are keyset pages through the ORM, rendered in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from registry.export_formats import (
    PARQUET_PAGE,
    PARQUET_SCHEMA,
    TEXT_RENDERERS,
    csv_rows,
    parquet_bytes,
    parquet_table,
    regrouped,
)
from registry.selectors import entries_in_force

PAGE = 50_000


_IN_FORCE = """
    FROM registry_exclusion
    WHERE added_at_index >= %s AND added_at_index < %s
      AND (removed_at_index IS NULL OR removed_at_index >= %s)
    ORDER BY added_at_index
"""
# Each format's line, as the Python renderers write it. PostgreSQL's to_json escapes a string
# as json.dumps(ensure_ascii=False) does.
_PG_LINES = {
    "txt": "subject || CASE WHEN kind = 'namespace' THEN E'/*\\n' ELSE E'\\n' END",
    "ndjson": (
        '\'{"kind":"\' || kind || \'","subject":\' || to_json(subject)::text'
        " || ',\"index\":' || added_at_index || E'}\\n'"
    ),
    "csv": (
        "kind || ',' || CASE WHEN subject ~ '[\",\\n]' THEN"
        " '\"' || replace(subject, '\"', '\"\"') || '\"' ELSE subject END"
        " || ',' || added_at_index || E'\\n'"
    ),
}
# A page's Parquet columns in three values: a letter per row for the kind, the subjects
# joined by newlines and the indexes by commas.
_PG_COLUMNS = f"""
    SELECT string_agg(CASE kind WHEN 'namespace' THEN 'n' WHEN 'repository' THEN 'r'
                                ELSE '?' END, ''),
           string_agg(subject, E'\\n'), string_agg(added_at_index::text, ','), count(*)
    FROM (SELECT kind, subject, added_at_index {_IN_FORCE}) AS page
"""  # noqa: S608 - constants only


def _pg_pages(size: int, start: int, fetch: Callable) -> Iterator:
    """``fetch(cursor, first, end)`` for each range of ``PAGE`` log indexes up to ``size``.
    Text comes back as bytes (psycopg2's BYTES caster): no decoding only to encode again."""
    with connection.cursor() as cursor:
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
        for first in range(start, size, PAGE):
            yield fetch(cursor, first, min(first + PAGE, size))


def text_lines(size: int, fmt: str, *, start: int = 0) -> Iterator[bytes]:
    """The lines of a text export (no CSV header) of the entries in force at ``size`` added
    at ``start`` or later, a page at a time."""
    if connection.vendor != "postgresql":
        render = TEXT_RENDERERS[fmt]
        yield from (render(rows) for rows in entries_in_force(size, start=start, page=PAGE))
        return
    # No ORDER BY inside string_agg: PostgreSQL aggregates a sorted subquery's rows in order.
    sql = f"SELECT string_agg(line, '') FROM (SELECT {_PG_LINES[fmt]} AS line {_IN_FORCE}) p"  # noqa: S608

    def fetch(cursor, first: int, end: int) -> bytes:
        cursor.execute(sql, [first, end, size])
        return cursor.fetchone()[0] or b""

    yield from _pg_pages(size, start, fetch)


def parquet_tables(size: int, *, start: int = 0) -> Iterator[pa.Table]:
    """The same entries as Arrow tables (``regrouped`` cuts them into row groups)."""
    if connection.vendor != "postgresql":
        pages = entries_in_force(size, start=start, page=PARQUET_PAGE)
        yield from (parquet_table(rows) for rows in pages)
        return

    def fetch(cursor, first: int, end: int) -> pa.Table:
        cursor.execute(_PG_COLUMNS, [first, end, size])
        kinds, subjects, indexes, count = cursor.fetchone()
        if not count:
            return parquet_table([])
        subject = pc.split_pattern(pa.array([subjects], pa.binary()), b"\n").flatten()
        if b"?" in kinds or len(subject) != count:  # an unknown kind, a newline in a subject
            rows = next(entries_in_force(size, start=first, page=PAGE), [])  # the range, row by row
            return parquet_table([row for row in rows if row[2] < end])
        namespace = pc.equal(
            pa.Array.from_buffers(pa.uint8(), count, [None, pa.py_buffer(kinds)]), ord("n")
        )
        index = pc.split_pattern(pa.array([indexes], pa.binary()), b",").flatten()
        return pa.Table.from_arrays(
            [
                pc.if_else(namespace, "namespace", "repository"),
                subject.cast(pa.string()),
                index.cast(pa.string()).cast(pa.uint64()),
            ],
            schema=PARQUET_SCHEMA,
        )

    yield from _pg_pages(size, start, fetch)


def export_stream(size: int, fmt: str) -> Iterator[bytes]:
    """The export's bytes, read from the database."""
    if fmt == "parquet":
        yield from parquet_bytes(regrouped(parquet_tables(size)))
        return
    if fmt == "csv":
        yield csv_rows([], header=True)
    yield from text_lines(size, fmt)
