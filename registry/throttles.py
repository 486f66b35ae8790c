"""Rate limits of the pipeline API: fixed-window counters in the shared cache.

Anonymous callers are counted by address (``API_ANON_RATE``), token holders by token
(``API_TOKEN_RATE``). Every worker counts in the same Redis key, in one round trip.

A call counted by a view's fast path (``registry.api.fast``) is not counted again if it
falls through to DRF's full cycle: the count travels on the request.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from registry.shared_redis import run_script, shared_redis
from registry.tokens import presented_key, token_from_request

# Add one and arm the expiry when the window opens, in one command: a script is one round
# trip like a pipeline, with less client-side work per call.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


def window_count(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires ``timeout`` seconds after its first call."""
    redis_and_cache = shared_redis()
    if redis_and_cache is not None:
        client, backend = redis_and_cache
        return int(run_script(client, _COUNT, [backend.make_key(key)], [timeout]))
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


@dataclass(frozen=True)
class Counted:
    """One call's place in its window."""

    calls: int
    limit: int
    wait: float  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.calls <= self.limit


def _django_request(request: Request | HttpRequest) -> HttpRequest:
    return getattr(request, "_request", request)


class WindowThrottle(BaseThrottle):
    """A fixed-window counter in the cache: O(1) per call.

    DRF's ``SimpleRateThrottle`` stores every request time of the window in one cache
    value and rewrites it on each call, which grows with the rate; a counter does not.
    The rate is read on each call (DRF binds it at import), so settings changes apply.
    """

    scope: str

    def ident(self, request: Request | HttpRequest) -> str | None:
        raise NotImplementedError

    def count(self, request: Request | HttpRequest) -> Counted | None:
        """Count this call once (``None``: this throttle does not apply to it)."""
        counted_on = _django_request(request).__dict__.setdefault("_throttle_counts", {})
        if self.scope in counted_on:
            return counted_on[self.scope]
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident(request)
        if rate is None or ident is None:
            return None
        limit, _, period = rate.partition("/")
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]
        now = time.time()
        window = int(now // duration)
        calls = window_count(f"throttle:{self.scope}:{ident}:{window}", timeout=duration + 1)
        counted = Counted(calls, int(limit), (window + 1) * duration - now)
        counted_on[self.scope] = counted
        return counted

    def allow_request(self, request: Request, view: object) -> bool:
        counted = self.count(request)
        self._wait = 0.0 if counted is None else counted.wait
        return counted is None or counted.allowed

    def wait(self) -> float:
        return self._wait


class AnonymousThrottle(WindowThrottle):
    """Anonymous callers, by address (``API_ANON_RATE``); token holders skip it."""

    scope = "anon"

    def ident(self, request: Request | HttpRequest) -> str | None:
        return None if token_from_request(request) is not None else self.get_ident(request)


def token_ident(request: Request | HttpRequest) -> str | None:
    """Who a token holder is, for counting: a digest of the key presented.

    Not the token's public prefix: should a call ever be counted before its key is
    checked, a stranger who knows the prefix but not the secret would spend the token's
    allowance. Each valid token has exactly one key, so counting by key is by token.
    """
    key = presented_key(request)
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else None


class TokenThrottle(WindowThrottle):
    """Token holders, by token (``API_TOKEN_RATE``)."""

    scope = "registry_token"

    def ident(self, request: Request | HttpRequest) -> str | None:
        return token_ident(request) if token_from_request(request) is not None else None


THROTTLES = [AnonymousThrottle, TokenThrottle]
