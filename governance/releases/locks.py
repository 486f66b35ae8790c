"""A release step that must run once at a time: a PostgreSQL advisory lock per version.

The lock is transaction-scoped (``pg_try_advisory_xact_lock``), so it holds behind
PgBouncer in transaction mode, and it dies with its holder: a worker killed mid-step
closes its connection, the lock is released, and the redelivered task takes over at once.
It locks no row, so progress updates and the reconciler never wait for it.

SQLite (the embedded default) runs tasks in-process, one at a time: the lock is always
granted there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# The first half of the two-key advisory lock: which kind of step the second key names.
PUBLISH = 0x70756233  # "pub3"


@contextmanager
def step_lock(step: int, version_id: int) -> Iterator[bool]:
    """Open a transaction and try to take the lock; yields whether it was granted.

    Whatever the body writes commits with the transaction, before the lock is released.
    """
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield True
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [step, version_id])
            granted = bool(cursor.fetchone()[0])
        yield granted


def step_running(step: int, version_id: int) -> bool:
    """Whether another connection holds the lock now (the reconciler asks before resuming)."""
    if connection.vendor != "postgresql":
        return False
    with step_lock(step, version_id) as granted:
        return not granted
