import io

import pyarrow.parquet as pq
import pytest

from registry.export_entries import export_stream
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_remove
from tests.registry.exporting import export_dir, export_path

pytestmark = pytest.mark.django_db


def test_each_format_renders_awkward_subjects_exactly() -> None:
    for subject in ["github.com/a/b", 'github.com/we,ird/"quoted"', "gitlab.com/g/ünï/cödé"]:
        exclusion_add(kind="repository", subject=subject, cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c", reason="r")
    size = log_size()
    assert b"".join(export_stream(size, "txt")).decode() == (
        'github.com/we,ird/"quoted"\ngitlab.com/g/ünï/cödé\ngithub.com/org/*\n'
    )
    assert b"".join(export_stream(size, "csv")).decode() == (
        "kind,subject,index\n"
        'repository,"github.com/we,ird/""quoted""",1\n'
        "repository,gitlab.com/g/ünï/cödé,2\n"
        "namespace,github.com/org,3\n"
    )
    assert b"".join(export_stream(size, "ndjson")).decode().splitlines()[0] == (
        '{"kind":"repository","subject":"github.com/we,ird/\\"quoted\\"","index":1}'
    )


@pytest.mark.parametrize("fmt", ["txt", "ndjson", "csv", "parquet"])
def test_pages_postgresql_renders_have_the_python_renderers_bytes(fmt, monkeypatch) -> None:
    """On PostgreSQL the database renders each page; it must be the rows' bytes exactly,
    also for what only a write past the services could leave (a newline in a subject, a
    kind this code does not know), with several pages and row groups."""
    from django.db import connection

    from registry import export_entries, export_formats
    from registry.export_formats import TEXT_RENDERERS, csv_rows, parquet_bytes, parquet_table
    from registry.models import Exclusion
    from registry.selectors import entries_in_force
    from tests.registry.history import guards_off

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL renders pages; elsewhere Python does")
    subjects = ['github.com/we,ird/"quoted"', "gitlab.com/g/ünï/cödé", "github.com/b\\s"]
    subjects += ["github.com/🦀/crab", 'github.com/"/,', "github.com/'single'/x"]
    subjects += [f"github.com/o/r{i}" for i in range(10)]
    for subject in subjects:
        exclusion_add(kind="repository", subject=subject, cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r3", cause="c", reason="r")
    with guards_off():  # rows an older or newer portal might have left, past the services
        Exclusion.objects.filter(subject="github.com/o/r5").update(subject="github.com/o/r\n5")
        Exclusion.objects.filter(subject="github.com/o/r7").update(kind="future-kind")
        Exclusion.objects.filter(subject="github.com/o/r9").update(
            subject="github.com/\t\x01\x7f\u2028"
        )
        Exclusion.objects.filter(subject="github.com/o/r8").update(subject="github.com/o/r\r8")
    monkeypatch.setattr(export_entries, "PAGE", 4)
    monkeypatch.setattr(export_formats, "PARQUET_PAGE", 5)
    size = log_size()
    rows = [row for page in entries_in_force(size) for row in page]
    if fmt == "parquet":
        expected = b"".join(parquet_bytes(export_formats.regrouped(iter([parquet_table(rows)]))))
    else:
        expected = (csv_rows([], header=True) if fmt == "csv" else b"") + TEXT_RENDERERS[fmt](rows)
    assert b"".join(export_stream(size, fmt)) == expected


def test_an_export_reads_the_database_a_page_at_a_time(
    monkeypatch, django_assert_max_num_queries
) -> None:
    from registry import export_entries

    for i in range(10):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    monkeypatch.setattr(export_entries, "PAGE", 4)
    size = log_size()
    with django_assert_max_num_queries(3):  # 4 + 4 + 2 entries
        chunks = list(export_stream(size, "txt"))
    assert [chunk.count(b"\n") for chunk in chunks] == [4, 4, 2]


def test_tables_are_cut_and_joined_into_row_groups_of_one_size() -> None:
    import pyarrow as pa

    from registry.export_formats import regrouped

    tables = [pa.table({"n": list(range(start, start + rows))}) for start, rows in
              [(0, 3), (3, 7), (10, 0), (10, 1), (11, 6)]]  # fmt: skip
    out = list(regrouped(iter(tables), 5))
    assert [t.num_rows for t in out] == [5, 5, 5, 2]
    assert [t["n"].num_chunks for t in out] == [1, 1, 1, 1]
    assert [n for t in out for n in t["n"].to_pylist()] == list(range(17))


@pytest.mark.parametrize("fmt", ["txt", "parquet"])
def test_a_gzip_file_compressed_from_the_plain_file_has_the_streams_bytes(fmt) -> None:
    from registry.checkpoints import checkpoint_latest
    from registry.export_formats import gzip_stream
    from registry.exports import export_file

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
    from registry.exports import export_file

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
