"""gunicorn's settings for the portal's web process; gunicorn reads this file by itself when
started from the project's folder (`gunicorn governance.wsgi`). `bench/api.py` serves with it
too, so the benchmark measures what production runs.

Threads, because a request mostly waits on PostgreSQL and Redis; several processes with few
threads each, because threads of one process take turns on the GIL, and with many of them
a request can wait several turns.

gunicorn answers a request line or headers over its limits itself, in HTML, before Django
sees them; a reverse proxy in front should refuse those first (README, "The API").
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
# gunicorn's largest request line (its default is 4094): long enough that a query with more
# fields than Django accepts (1,000) reaches Django, which answers in the API's error shape.
limit_request_line = 8190


def post_worker_init(worker) -> None:
    """Once the app is loaded in a worker, move everything made so far (Django's URL
    resolvers, models, settings) out of the cyclic garbage collector's reach. They live as
    long as the process, yet each full collection walked them all: a bulk check of 10,000
    repositories, which makes ~100,000 objects, set off such collections mid-call."""
    gc.freeze()
