"""A task that kills the worker process running it, every time: loaded only into the
workers of the reliability suite (``celery worker --include``), never by the portal."""

from __future__ import annotations

import os

from celery import shared_task


@shared_task(name="tests.reliability.poison.die")
def die(*, marker: str) -> None:
    with open(marker, "a") as handle:  # one line per run that started
        handle.write(f"{os.getpid()}\n")
    os._exit(1)  # as a crash in native code or the OOM killer would
