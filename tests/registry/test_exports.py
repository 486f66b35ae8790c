import io
import threading

import pyarrow.parquet as pq
import pytest

from registry.exports import export_stream
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_add_many, exclusion_remove

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["txt", "ndjson", "csv"])
def test_the_database_and_python_renderers_give_the_same_bytes(fmt) -> None:
    """On PostgreSQL the text formats are rendered in SQL; on SQLite both paths are Python."""
    for subject in ["github.com/a/b", 'github.com/we,ird/"quoted"', "gitlab.com/g/ünï/cödé"]:
        exclusion_add(kind="repository", subject=subject, cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c", reason="r")
    size = log_size()
    in_sql = b"".join(export_stream(size, fmt))
    in_python = b"".join(export_stream(size, fmt, in_database=False))
    assert in_sql == in_python
    assert in_python.count(b"\n") == (4 if fmt == "csv" else 3)
    assert b"github.com/a/b" not in in_python


def test_pages_stop_at_the_checkpoint_and_skip_removed_entries() -> None:
    for i in range(7):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r2", cause="c", reason="r")
    from registry.exports import pages_at

    pages = list(pages_at(8, page=3))
    assert [[row[1] for row in page] for page in pages] == [
        ["github.com/o/r0", "github.com/o/r1", "github.com/o/r3"],
        ["github.com/o/r4", "github.com/o/r5", "github.com/o/r6"],
    ]
    assert [row[1] for page in pages_at(2, page=3) for row in page] == [
        "github.com/o/r0",
        "github.com/o/r1",
    ]


def test_database_pages_keep_log_order_across_pages() -> None:
    """Log order, not subject order: the SQL renderer aggregates each sorted page as is. A
    page is a range of log indexes, so a removed entry makes its page shorter."""
    from django.db import connection

    from registry.exports import _pg_pages

    if connection.vendor != "postgresql":
        pytest.skip("the SQL renderer runs on PostgreSQL only")
    subjects = [f"github.com/o/r{n}" for n in (9, 3, 7, 1, 8, 2, 6, 0, 5, 4)]
    for subject in subjects:
        exclusion_add(kind="repository", subject=subject, cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r1", cause="c", reason="r")
    size = log_size()
    for lanes in (1, 2, 3):
        pages = [page.decode().splitlines() for page in _pg_pages(size, "txt", page=3, lanes=lanes)]
        assert pages == [
            ["github.com/o/r9", "github.com/o/r3", "github.com/o/r7"],
            ["github.com/o/r8", "github.com/o/r2"],
            ["github.com/o/r6", "github.com/o/r0", "github.com/o/r5"],
            ["github.com/o/r4"],
        ]


def _export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-pages" and t.is_alive()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["txt", "ndjson", "csv", "parquet"])
def test_pages_rendered_on_other_connections_give_the_same_bytes(fmt, monkeypatch) -> None:
    """Outside a transaction the database's pages are produced ahead, in threads with their
    own connections (two lanes for the text formats); the bytes must not change."""
    from registry import exports

    kinds = ["namespace" if i % 7 == 0 else "repository" for i in range(45)]
    subjects = [(kind, f'github.com/o{i}/"r,{i}"é') for i, kind in enumerate(kinds)]
    exclusion_add_many(subjects=subjects, cause="c")  # one checkpoint, one precompute
    for i in range(0, 45, 4):
        kind = "namespace" if i % 7 == 0 else "repository"
        exclusion_remove(kind=kind, subject=f'github.com/o{i}/"r,{i}"é', cause="c", reason="r")
    size = log_size()
    monkeypatch.setattr(exports, "PAGE", 4)  # many pages, so both lanes and the queue work
    monkeypatch.setattr(exports, "PARQUET_PAGE", 5)
    expected = b"".join(export_stream(size, fmt, in_database=False))
    assert b"".join(export_stream(size, fmt)) == expected
    if fmt == "parquet":
        assert pq.ParquetFile(io.BytesIO(expected)).num_row_groups == 7  # 33 rows, 5 a group
    assert _export_threads() == []


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_pages_arrow_cannot_build_from_columns_are_read_as_rows(fmt, monkeypatch) -> None:
    """On PostgreSQL, NDJSON and Parquet pages are built by Arrow from whole columns; a
    page with a kind this code does not know or a subject holding a newline is read row by
    row instead, and a page with a subject JSON must escape is rendered by Python. Every
    page gives the row path's bytes."""
    from registry import exports
    from registry.models import Exclusion

    for i in range(12):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    # Written past the services, as an older or newer portal might have left them.
    Exclusion.objects.filter(subject="github.com/o/r5").update(kind="future-kind")
    Exclusion.objects.filter(subject="github.com/o/r6").update(subject="github.com/o/r\n6")
    Exclusion.objects.filter(subject="github.com/o/r10").update(subject='github.com/o/"r10"')
    monkeypatch.setattr(exports, "PAGE", 4)  # pages: plain, rows, escaped
    monkeypatch.setattr(exports, "PARQUET_PAGE", 5)
    size = log_size()
    expected = b"".join(export_stream(size, fmt, in_database=False))
    assert b"".join(export_stream(size, fmt)) == expected
    if fmt == "ndjson":
        assert b'"kind":"future-kind"' in expected and b'"github.com/o/r\\n6"' in expected
    else:
        table = pq.read_table(io.BytesIO(expected))
        assert table.num_rows == 12 and "future-kind" in table["kind"].to_pylist()


def test_tables_are_cut_and_joined_into_row_groups_of_one_size() -> None:
    import pyarrow as pa

    from registry.exports import regrouped

    tables = [pa.table({"n": list(range(start, start + rows))}) for start, rows in
              [(0, 3), (3, 7), (10, 0), (10, 1), (11, 6)]]  # fmt: skip
    out = list(regrouped(iter(tables), 5))
    assert [t.num_rows for t in out] == [5, 5, 5, 2]
    assert [t["n"].num_chunks for t in out] == [1, 1, 1, 1]
    assert [n for t in out for n in t["n"].to_pylist()] == list(range(17))


@pytest.mark.django_db(transaction=True)
def test_a_consumer_that_stops_early_stops_the_page_threads() -> None:
    from django.db import connection

    from registry.exports import _pg_pages

    if connection.vendor != "postgresql":
        pytest.skip("the page threads run on PostgreSQL only")
    exclusion_add_many(
        subjects=[("repository", f"github.com/o/r{i}") for i in range(20)], cause="c"
    )
    pages = _pg_pages(log_size(), "txt", page=2)
    assert next(pages) == b"github.com/o/r0\ngithub.com/o/r1\n"
    assert len(_export_threads()) == 2
    pages.close()  # as Django does when a client goes away mid-stream
    assert _export_threads() == []


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_page_thread_reaches_the_consumer() -> None:
    from registry.exports import produced_ahead

    def failing():
        yield b"first"
        raise RuntimeError("the database went away")

    pages = produced_ahead(failing)
    assert next(pages) == b"first"
    with pytest.raises(RuntimeError, match="went away"):
        next(pages)
    assert _export_threads() == []


@pytest.mark.parametrize("fmt", ["txt", "parquet"])
def test_a_gzip_file_compressed_from_the_plain_file_has_the_streams_bytes(fmt) -> None:
    from registry.checkpoints import checkpoint_latest
    from registry.exports import export_file, export_path, gzip_stream

    for i in range(30):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    checkpoint = checkpoint_latest()
    from_database = b"".join(gzip_stream(export_stream(checkpoint.size, fmt)))
    assert export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=False)
    assert export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=True)
    gzipped = export_path(checkpoint.size, checkpoint.root_hash, fmt, gzip=True)
    assert gzipped.read_bytes() == from_database
    assert not export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=True)  # kept


def test_temporary_files_of_a_crashed_build_are_removed_once_abandoned() -> None:
    """A build killed mid-way cannot remove its temporary file; the next completed export
    removes those nobody has written to for an hour, and leaves live ones alone."""
    import os
    import time

    from registry.checkpoints import checkpoint_latest
    from registry.exports import export_dir, export_file

    exclusion_add(kind="repository", subject="github.com/o/r", cause="c")
    export_dir().mkdir(parents=True)
    crashed = export_dir() / ".partial-crashed"
    building = export_dir() / ".partial-building"
    for partial in (crashed, building):
        partial.write_bytes(b"github.com/o/")
    two_hours_ago = time.time() - 7200
    os.utime(crashed, (two_hours_ago, two_hours_ago))
    checkpoint = checkpoint_latest()
    assert export_file(checkpoint.size, checkpoint.root_hash, "txt", gzip=False)
    assert not crashed.exists()
    assert building.read_bytes() == b"github.com/o/"


def test_a_parquet_export_dictionary_encodes_the_kind_only() -> None:
    """Subjects are unique: a dictionary of them made the file 2.8x larger (revision 1)."""
    for i in range(30):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    exclusion_add(kind="namespace", subject="github.com/n", cause="c")
    metadata = pq.ParquetFile(io.BytesIO(b"".join(export_stream(log_size(), "parquet")))).metadata
    group = metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(3)}
    assert "RLE_DICTIONARY" in encodings["kind"]
    assert "RLE_DICTIONARY" not in encodings["subject"]
    assert "RLE_DICTIONARY" not in encodings["index"]
