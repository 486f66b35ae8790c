"""Side threads: every one waited for, the first error raised, database connections closed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from registry.threads import side_threads


def test_it_returns_each_result_once_every_thread_is_done() -> None:
    with side_threads("test", workers=3) as side:
        futures = [side(pow, n, 2) for n in range(10)]
    assert [f.result() for f in futures] == [n * n for n in range(10)]


def test_the_first_error_on_a_side_thread_is_raised_in_the_caller() -> None:
    def fail() -> None:
        raise OSError("the object store went away")

    with pytest.raises(OSError, match="went away"), side_threads("test") as side:
        side(fail)


def test_work_not_started_is_dropped_when_the_caller_fails() -> None:
    release = threading.Event()
    ran: list[int] = []

    with pytest.raises(RuntimeError, match="caller"), side_threads("test") as side:
        side(release.wait)  # holds the only thread
        queued = side(ran.append, 1)
        queued.add_done_callback(lambda _future: release.set())  # runs once it is dropped
        raise RuntimeError("caller failed")
    assert queued.cancelled()
    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_a_side_thread_closes_the_database_connection_it_opened() -> None:
    def query() -> object:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return connections["default"]  # this thread's own connection

    with side_threads("test") as side:
        used = side(query)
    assert used.result() is not connections["default"]
    assert used.result().connection is None
