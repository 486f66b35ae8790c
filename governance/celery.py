"""The Celery application.

Reliability settings, in one place so a test can assert them:
- tasks are acknowledged after they finish (``acks_late``) and re-queued when the worker
  running them dies (``reject_on_worker_lost``), so a crash never loses work; every task
  is therefore written to be safe to run twice;
- each worker process reserves one task at a time (prefetch 1), so a long release shard
  does not hold other tasks hostage;
- Redis's visibility timeout is above the hard time limit (checked in settings), so a task
  still running is never handed to a second worker;
- work that kills its worker every time is run at most three times
  (``governance.deliveries``), so re-queueing on worker loss cannot loop forever.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance", task_cls="governance.deliveries:CountedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _apply_reliability_settings() -> None:
    from django.conf import settings

    transport = {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}
    app.conf.update(
        # A send fails at once when Redis is down instead of retrying for seconds inside a
        # web request: the rows it was about are the outbox, and a sweeper sends it later.
        broker_transport_options={**transport, "max_retries": 0},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
        task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_track_started=True,
        result_expires=24 * 60 * 60,
        worker_hijack_root_logger=False,
    )


_apply_reliability_settings()
app.autodiscover_tasks()
