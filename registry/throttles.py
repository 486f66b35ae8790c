"""Rate limits of the pipeline API: fixed-window counters in the shared cache.

Anonymous callers are counted by address (``API_ANON_RATE``), token holders by token
(``API_TOKEN_RATE``). Every worker counts in the same key of the shared Redis
(``REDIS_URL``; the in-process cache without one), one integer per caller and window:
DRF's stock throttle instead stores every request time of the window in one pickled list
and rewrites it on each call.

When the cache cannot be reached, a call is let through and a warning logged: a rate limit
protects the database from a flood, and refusing every caller while Redis is down would
turn a broken cache into a broken API. The database still answers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from registry.tokens import presented_key

logger = logging.getLogger(__name__)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One client (a connection pool) per process and URL. Django's cache would build a new
    client, with its table of response callbacks, on every call: more CPU than the count."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def window_count(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires ``timeout`` seconds after its first call; the
    new total. Raises what the cache raises when it cannot be reached."""
    key = cache.make_key(key)  # the cache's prefix and version, as every other key
    if settings.REDIS_URL:  # one round trip: count, and arm the expiry when the window opens
        pipeline = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipeline.incr(key).expire(key, timeout, nx=True)
        return int(pipeline.execute()[0])
    if cache.add(key, 1, timeout=timeout):  # the in-process cache of the embedded default
        return 1
    return cache.incr(key)


def window_read(key: str) -> int:
    """A counter of ``window_count`` as it stands (0 when none). Raises what the cache raises
    when it cannot be reached."""
    key = cache.make_key(key)
    if settings.REDIS_URL:
        return int(_redis(settings.REDIS_URL).get(key) or 0)
    return int(cache.get(key) or 0)


class WindowThrottle(BaseThrottle):
    """A fixed-window counter in the cache: O(1) per call.

    The rate is read on each call (DRF binds it at import), so settings changes apply.
    """

    scope: str

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: object) -> bool:
        self._wait = 0.0
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident(request)
        if rate is None or ident is None:
            return True
        limit, _, period = rate.partition("/")
        duration = _SECONDS[period[:1]]
        now = time.time()
        window = int(now // duration)
        try:
            count = window_count(f"throttle:{self.scope}:{ident}:{window}", timeout=duration + 1)
        except Exception:  # the cache is down: see the module's docstring
            logger.warning("Rate limit %s not counted: the cache is unreachable", self.scope)
            return True
        self._wait = (window + 1) * duration - now
        return count <= int(limit)

    def wait(self) -> float:
        return self._wait


class AnonymousThrottle(WindowThrottle):
    """Anonymous callers, by address (``API_ANON_RATE``); token holders skip it.

    The address is the peer's, or the one the ``NUM_PROXIES`` trusted proxies in front saw
    (``API_TRUSTED_PROXIES``), as DRF's ``get_ident`` reads it."""

    scope = "anon"

    def ident(self, request: Request) -> str | None:
        return None if request.auth is not None else self.get_ident(request)


class TokenThrottle(WindowThrottle):
    """Token holders, by token (``API_TOKEN_RATE``).

    Counted by a digest of the key presented, not by the token's public prefix: a stranger
    who knows the prefix but not the secret must not spend the token's allowance. Throttles
    run after authentication, so only a valid key is counted."""

    scope = "registry_token"

    def ident(self, request: Request) -> str | None:
        if request.auth is None:
            return None
        return hashlib.sha256(presented_key(request).encode()).hexdigest()[:32]


class PageThrottle(WindowThrottle):
    """A page that does an API's work for anyone (the home page's lookup), by address, in
    the same allowance as the anonymous API calls: a page is not a second, cheaper door.

    Pages are plain Django views; ``allow_request`` reads only ``request.META``. The anonymous
    single check answered before DRF's cycle (``CheckView.dispatch``) counts with it too."""

    scope = "anon"

    def ident(self, request: Request) -> str | None:
        return self.get_ident(request)


THROTTLES = [AnonymousThrottle, TokenThrottle]
