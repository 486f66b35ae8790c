"""The one way this project runs work on side threads.

It lives in the registry, the lowest layer, so that every app may use it. Where threads
remain (docs/releases.md, "Threads"), they run work that releases the GIL (Arrow,
hashing) or waits on I/O, beside the thread that started them. ``side_threads`` makes
them behave alike: leaving the block waits for every thread, the first error raised on
any of them is raised in the caller, work not started is dropped once the caller itself
fails, and each call closes the database connections its thread opened, so no thread
leaves a PostgreSQL connection behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from django.db import connections


@contextmanager
def side_threads(name: str, workers: int = 1) -> Iterator[Callable[..., Future]]:
    """A ``submit(function, *args, **kwargs) -> Future`` running on up to ``workers``
    threads named ``name``; see the module's docstring for what leaving the block does."""
    futures: list[Future] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:

        def submit(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
            future = pool.submit(_closing, function, *args, **kwargs)
            futures.append(future)
            return future

        try:
            yield submit
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        done, _running = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in done and not f.cancelled() and f.exception()]
        if failed:
            for future in futures:
                future.cancel()
            raise failed[0].exception()


def _closing(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()  # this thread's connections only: they are per thread
