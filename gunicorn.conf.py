"""gunicorn's settings for the portal's web process; gunicorn reads this file by itself when
started from the project's folder (`gunicorn governance.wsgi`). `bench/api.py` serves with it
too, so the benchmark measures what production runs.

Threads, because a request mostly waits on PostgreSQL and Redis; several processes with few
threads each, because threads of one process take turns on the GIL, and with many of them
a request can wait several turns: at 16 connections that was the p99 (docs/benchmarks.md).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds: pipelines poll with keep-alive connections
backlog = 2048


def post_worker_init(worker) -> None:
    """Once the app is loaded in a worker: fix glibc's malloc thresholds, so that freed
    large buffers go back to the system (``governance/malloc_tuning.py``); build the
    worker's copy of the active exclusions, which answers single checks
    (``registry/resident.py``; about a second at a million), so that no request waits for
    it; then move everything made so far (Django's URL resolvers, models, settings:
    ~120,000 objects) out of the cyclic garbage collector's reach. They live as long as
    the process, yet each full collection walked them all: a bulk check of 10,000
    repositories, which makes ~100,000 objects, set off such collections mid-call and paid
    up to 90 ms for them (docs/benchmarks.md).
    """
    from governance.malloc_tuning import malloc_thresholds_fixed
    from registry.resident import RESIDENT

    malloc_thresholds_fixed()
    RESIDENT.warm()
    gc.freeze()
