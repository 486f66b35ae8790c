import pytest

from registry.exports import export_stream
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_remove

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
    """Log order, not subject order: the SQL renderer aggregates each sorted page as is."""
    from django.db import connection

    from registry.exports import _pg_pages

    if connection.vendor != "postgresql":
        pytest.skip("the SQL renderer runs on PostgreSQL only")
    subjects = [f"github.com/o/r{n}" for n in (9, 3, 7, 1, 8, 2, 6, 0, 5, 4)]
    for subject in subjects:
        exclusion_add(kind="repository", subject=subject, cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r1", cause="c", reason="r")
    size = log_size()
    pages = [page.decode().splitlines() for page in _pg_pages(size, "txt", page=3)]
    assert pages == [
        ["github.com/o/r9", "github.com/o/r3", "github.com/o/r7"],
        ["github.com/o/r8", "github.com/o/r2", "github.com/o/r6"],
        ["github.com/o/r0", "github.com/o/r5", "github.com/o/r4"],
    ]
