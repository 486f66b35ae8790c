"""Queue Celery tasks without letting an unreachable broker undo what was committed.

PostgreSQL is the record of work to do; the broker only carries the hint. A decision that
committed (an approval, an event to e-mail) is reported as saved even when Redis is down:
the task that could not be queued is picked up by the sweeper or the reconciler that
reads the same rows. So a failed send is logged, never raised into the request, and it
does not stop the other after-commit hooks of the same transaction.

It lives in the registry because every other app may import the registry (it imports none).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing a message raises when the broker is unreachable or drops the connection.
BROKER_ERRORS = (OperationalError, OSError)


def queue(task: Task, **kwargs: Any) -> bool:
    """Send ``task`` now, once, without the client's retry loop; ``False`` if the broker
    could not take it (the caller's rows say what is still to do)."""
    try:
        # ignore_result: nobody here waits for the result, and asking for it subscribes
        # to the result store, whose client gives up for good once Redis is gone.
        task.apply_async(kwargs=kwargs, retry=False, ignore_result=True)
    except BROKER_ERRORS:
        logger.warning(
            "Could not queue %s(%s); a sweeper sends it again later.",
            task.name,
            ", ".join(f"{key}={value!r}" for key, value in kwargs.items()),
            exc_info=True,
        )
        return False
    return True


def queue_after_commit(task: Task, **kwargs: Any) -> None:
    """Send ``task`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: queue(task, **kwargs))
