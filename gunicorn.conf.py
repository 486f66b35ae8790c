"""gunicorn's settings for the portal's web process; gunicorn reads this file by itself when
started from the project's folder (`gunicorn governance.wsgi`). `bench/api.py` serves with it
too, so the benchmark measures what production runs.

Threads, because a request mostly waits on PostgreSQL and Redis; several processes with few
threads each, because threads of one process take turns on the GIL, and with many of them
a request can wait several turns.

Limits on the request line and headers are gunicorn's defaults (4094 bytes a line, 100
headers of 8190 bytes); gunicorn answers a breach in plain text, so a reverse proxy in front
should refuse those first (README, "Production").
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
    """Once the app is loaded in a worker, move everything made so far (Django's URL
    resolvers, models, settings) out of the cyclic garbage collector's reach. They live as
    long as the process, yet each full collection walked them all: a bulk check of 10,000
    repositories, which makes ~100,000 objects, set off such collections mid-call."""
    gc.freeze()
