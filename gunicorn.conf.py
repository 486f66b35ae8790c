"""gunicorn's settings for the portal's web process; gunicorn reads this file by itself when
started from the project's folder (`gunicorn governance.wsgi`). `bench/api.py` serves with it
too, so the benchmark measures what production runs.

Threads, because a request mostly waits on PostgreSQL and Redis; several processes with few
threads each, because threads of one process take turns on the GIL, and with many of them
a request can wait several turns: at 16 connections that was the p99 (docs/benchmarks.md).
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds: pipelines poll with keep-alive connections
backlog = 2048
