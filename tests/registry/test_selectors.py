import datetime as dt
import threading

import pytest
from rest_framework import serializers

from registry.models import Exclusion
from registry.selectors import (
    entries_in_force,
    exclusions_at,
    exclusions_matching_many,
    repository_check,
)
from registry.services import exclusion_add, exclusion_remove

pytestmark = pytest.mark.django_db


def test_entries_in_force_stop_at_the_size_and_skip_removed_ones() -> None:
    for i in range(7):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r2", cause="c", reason="r")
    pages = list(entries_in_force(8, page=3))
    assert [[row[1] for row in page] for page in pages] == [
        ["github.com/o/r0", "github.com/o/r1", "github.com/o/r3"],
        ["github.com/o/r4", "github.com/o/r5", "github.com/o/r6"],
    ]
    assert [row[1] for page in entries_in_force(2, page=3) for row in page] == [
        "github.com/o/r0",
        "github.com/o/r1",
    ]
    assert [row[2] for page in entries_in_force(8, start=4) for row in page] == [4, 5, 6]


def test_the_set_at_a_size_is_read_a_page_at_a_time(monkeypatch) -> None:
    """No statement fetches more than a page, whatever the registry's size: memory holds the
    set being built and one page, not the whole result besides (psycopg2 fetches a result
    whole, and server-side cursors do not survive PgBouncer's transaction mode)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry import selectors

    for i in range(10):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/r4", cause="c", reason="r")
    monkeypatch.setattr(selectors, "ENTRIES_PAGE", 3)
    with CaptureQueriesContext(connection) as queries:
        at = exclusions_at(12)
    assert at.repositories == {f"github.com/o/r{i}" for i in range(10) if i != 4}
    assert at.namespaces == {"github.com/org"}
    reads = [q["sql"] for q in queries if "registry_exclusion" in q["sql"]]
    assert len(reads) == 4  # 3 + 3 + 3 + 1 of the 10 in force
    assert all(sql.rstrip().endswith("LIMIT 3") for sql in reads)


def test_bulk_matching_prefers_the_repository_then_the_outermost_group() -> None:
    exclusion_add(kind="repository", subject="gitlab.com/a/b/c", cause="c")
    exclusion_add(kind="namespace", subject="gitlab.com/a/b", cause="c")
    exclusion_add(kind="namespace", subject="gitlab.com/a", cause="c")
    exclusion_add(kind="repository", subject="gitlab.com/a/b", cause="c")  # also a group's path
    matches, size = exclusions_matching_many(
        ["gitlab.com/a/b/c", "gitlab.com/a/b/d", "gitlab.com/z/y", "gitlab.com/a/b/c"]
    )
    assert size == 4
    assert {repo: (m["kind"], m["subject"]) for repo, m in matches.items()} == {
        "gitlab.com/a/b/c": ("repository", "gitlab.com/a/b/c"),
        "gitlab.com/a/b/d": ("namespace", "gitlab.com/a"),
    }


def test_bulk_matching_is_not_fooled_by_a_newline_in_a_subject() -> None:
    """Subjects travel to PostgreSQL as one newline-joined string unless one holds a newline."""
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    matches, _ = exclusions_matching_many(["github.com/a/b\ngithub.com/a/b", "github.com/x/y"])
    assert matches == {}
    matches, _ = exclusions_matching_many(["github.com/a/b", "github.com/x/y"])
    assert list(matches) == ["github.com/a/b"]


def test_the_single_check_agrees_with_the_bulk_one() -> None:
    exclusion_add(kind="namespace", subject="gitlab.com/a", cause="c")
    exclusion_add(kind="repository", subject="gitlab.com/a/b", cause="c")
    match, size = repository_check("gitlab.com/a/b/c")
    assert (match["kind"], match["subject"], size) == ("namespace", "gitlab.com/a", 2)
    assert repository_check("gitlab.com/z/y") == (None, 2)


@pytest.mark.django_db(transaction=True)
def test_bulk_matching_reads_the_log_size_and_matches_from_one_snapshot() -> None:
    """A change committed while the bulk read runs is in both the matches and the log size,
    or in neither. The change is committed from another connection right after the read's
    first statement: with the size and the matches read by two statements it would land
    between them (matched, but a log size that does not contain it)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite blocks the concurrent writer; its read is one transaction anyway")
    exclusion_add(kind="repository", subject="github.com/a/one", cause="c")
    committed: list[int] = []

    def add_from_elsewhere() -> None:
        try:
            exclusion_add(kind="repository", subject="github.com/a/two", cause="c")
            committed.append(1)
        finally:
            connection.close()  # this thread's own connection

    def after_first_statement(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not committed:
            writer = threading.Thread(target=add_from_elsewhere)
            writer.start()
            writer.join(timeout=30)
        return result

    with connection.execute_wrapper(after_first_statement):
        matches, size = exclusions_matching_many(["github.com/a/one", "github.com/a/two"])
    assert committed == [1]
    assert (sorted(matches), size) == (["github.com/a/one"], 1)
    matches, size = exclusions_matching_many(["github.com/a/one", "github.com/a/two"])
    assert (sorted(matches), size) == (["github.com/a/one", "github.com/a/two"], 2)


@pytest.mark.django_db(transaction=True)  # closes its connection: no test transaction
def test_the_single_check_is_one_query_that_leaves_no_session_state(
    django_assert_num_queries,
) -> None:
    """Behind PgBouncer in transaction mode the next query may run on another server
    connection: nothing may be prepared or SET on this one."""
    from django.db import connection

    exclusion_add(kind="namespace", subject="gitlab.com/a", cause="c")
    connection.close()
    with django_assert_num_queries(1):
        assert repository_check("gitlab.com/a/b")[0]["subject"] == "gitlab.com/a"
    with django_assert_num_queries(1):
        assert repository_check("gitlab.com/z/y") == (None, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] == 0
            # PgBouncer itself carries these few from client to server connection.
            cursor.execute(
                "SELECT name FROM pg_settings WHERE source = 'session' AND name NOT IN "
                "('TimeZone', 'DateStyle', 'client_encoding', 'application_name', "
                "'standard_conforming_strings', 'IntervalStyle')"
            )
            assert cursor.fetchall() == []


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 4, 5, 6, 7, 80, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    ],
)
def test_matches_say_since_when_as_the_api_renders_a_datetime(moment) -> None:
    """The database formats ``since`` itself; it must be DRF's rendering, to the character."""
    exclusion_add(kind="namespace", subject="github.com/a", cause="c")
    Exclusion.objects.filter(subject="github.com/a").update(created_at=moment)
    rendered = serializers.DateTimeField().to_representation(moment)
    matches, _ = exclusions_matching_many(["github.com/a/b"])
    match, _ = repository_check("github.com/a/b")
    assert matches["github.com/a/b"]["since"] == match["since"] == rendered
