"""A task whose work kills its worker is not delivered forever.

Tasks are acknowledged late and re-queued when the process running them dies
(``reject_on_worker_lost``), so a crash loses nothing. The price: work that kills the
process every time (a shard that exhausts memory, a crash in native code, the hard time
limit) would come back forever, taking a worker process down each time. So each run is
counted in Redis before it starts and forgotten when it ends, in success or in error:
only runs whose process died add up. After ``MAX_DELIVERIES`` such deaths in a row, the
next delivery does not run the work: it calls the task's ``poisoned`` handler (a release
marks its version failed, with the reason), logs an error and is acknowledged.

The count belongs to the work (the task's name and arguments, which are ids), not to the
message, so a release shard that the reconciler sends again counts with its earlier
deliveries, and so does the redelivery of a task whose whole worker was killed. Celery's
own ``task_retry_on_worker_lost`` counts neither. The count expires a day after the first
death, so periodic work is tried again then. When Redis cannot be reached the run is not
counted: counting must never stop work.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis
from celery import Task
from django.conf import settings

logger = logging.getLogger(__name__)

MAX_DELIVERIES = 3
COUNT_SECONDS = 24 * 60 * 60


class CountedTask(Task):
    """The base of every task of the portal (``governance.celery``)."""

    #: Called as ``poisoned(deaths=N, **task_kwargs)`` instead of the task once its work
    #: has killed its worker ``MAX_DELIVERIES`` times; a task sets it with
    #: ``@shared_task(poisoned=staticmethod(handler))``.
    poisoned: Callable[..., None] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        client = _client()
        if client is None or self.request.is_eager or self.request.called_directly:
            return super().__call__(*args, **kwargs)
        key = work_key(self.name, args, kwargs)
        deaths = _begin(client, key)
        if deaths >= MAX_DELIVERIES:
            logger.error(
                "%s stopped its worker process %d times in a row; not run again "
                "(the count is kept in Redis under %s for a day)",
                key,
                deaths,
                key,
            )
            if self.poisoned is not None:
                self.poisoned(*args, deaths=deaths, **kwargs)
            return None
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _end(client, key)


def work_key(name: str, args: tuple, kwargs: dict[str, Any]) -> str:
    # Hashed: an argument may be an address (links_resend_task), and keys show in logs.
    arguments = json.dumps([list(args), kwargs], sort_keys=True, default=str)
    return f"task-deaths:{name}:{hashlib.sha256(arguments.encode()).hexdigest()[:32]}"


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _client() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    return _redis(url) if url and url.startswith(("redis://", "rediss://")) else None


def _begin(client: redis.Redis, key: str) -> int:
    """Count this run; how many earlier runs of the same work never ended."""
    try:
        pipeline = client.pipeline(transaction=False)
        pipeline.incr(key).expire(key, COUNT_SECONDS, nx=True)
        return int(pipeline.execute()[0]) - 1
    except redis.RedisError:
        logger.warning("Run of %s not counted: Redis is unreachable", key)
        return 0


def _end(client: redis.Redis, key: str) -> None:
    try:
        client.delete(key)
    except redis.RedisError:
        logger.warning("Run of %s not forgotten: Redis is unreachable", key)
