"""For tests that play a dishonest server: rewrite the registry's history by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def guards_off() -> Iterator[None]:
    """Switch off the database's history guards (registry migration 0007) for this
    connection, as only a database superuser can: what a tampered server would do."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
