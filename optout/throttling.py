"""Submission limits per IP address and per contact e-mail (fixed one-hour windows).

Counters live in the cache (Redis in production). Only submissions that create a
request count, so fixing a bad line and sending again costs nothing. The message is the
same whichever limit was hit: it must not tell a stranger that an address is in use.
When the cache cannot be reached, submissions are let through uncounted and a warning is
logged, as the API's rate limits do (``registry.throttles``): a request saved is worth more
than a limit kept.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Throttled:
    message: str
    retry_after: int  # seconds


def _keys(ip: str, email: str) -> list[tuple[str, int]]:
    window = int(time.time() // WINDOW_SECONDS)
    digest = lambda value: hashlib.sha256(value.encode()).hexdigest()[:32]  # noqa: E731
    return [
        (f"optout:submit:ip:{digest(ip)}:{window}", settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP),
        (
            f"optout:submit:email:{digest(email.strip().lower())}:{window}",
            settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL,
        ),
    ]


def submission_throttled(*, ip: str, email: str) -> Throttled | None:
    """Whether another submission from ``ip`` to ``email`` must wait, and how long."""
    try:
        counts = [(cache.get(key) or 0, limit) for key, limit in _keys(ip, email)]
    except Exception:  # the cache is down: see the module's docstring
        logger.warning("Submission limits not checked: the cache is unreachable")
        return None
    for count, limit in counts:
        if count >= limit:
            retry_after = WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
            minutes = max(1, (retry_after + 59) // 60)
            return Throttled(
                "Too many requests were submitted from this network or for this e-mail "
                f"address in the last hour. Try again in {minutes} minutes; what you typed "
                "is kept.",
                retry_after,
            )
    return None


def submission_count(*, ip: str, email: str) -> None:
    """Count one submission that created a request."""
    try:
        for key, _ in _keys(ip, email):
            cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=WINDOW_SECONDS + 60)
    except Exception:  # the cache is down: see the module's docstring
        logger.warning("Submission not counted: the cache is unreachable")


def client_ip(meta: dict) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy
    # rewrites it, and the production proxy is expected to set REMOTE_ADDR correctly.
    return str(meta.get("REMOTE_ADDR", ""))
