"""Rate limits of the pipeline API: fixed-window counters in the shared cache.

Anonymous callers are counted by address (``API_ANON_RATE``), token holders by token
(``API_TOKEN_RATE``). Every worker counts in the same Redis key. The round trip that counts
also reads the registry's cache epoch (``registry.epoch``), so the hot paths learn whether
what they cached is still current without a second trip.

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

from registry.epoch import EPOCH_KEY, epoch_current
from registry.shared_redis import run_script, shared_redis
from registry.tokens import presented_key, token_from_request

# Add one, arm the expiry when the window opens, and read the epoch, in one command: a
# script is one round trip like a pipeline, with less client-side work per call.
_COUNT_AND_EPOCH = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('GET', KEYS[2])}
"""


def count_and_epoch(key: str, *, timeout: int) -> tuple[int, str]:
    """Add one to a counter that expires, and read the cache epoch, in one round trip."""
    redis_and_cache = shared_redis()
    if redis_and_cache is None:
        cache.add(key, 0, timeout=timeout)
        try:
            calls = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.add(key, 1, timeout=timeout)
            calls = 1
        return calls, epoch_current()
    client, backend = redis_and_cache
    calls, epoch = run_script(
        client, _COUNT_AND_EPOCH, [backend.make_key(key), backend.make_key(EPOCH_KEY)], [timeout]
    )
    # No epoch: Redis restarted empty. Any new value is safe, never an old one.
    return int(calls), epoch.decode() if epoch is not None else epoch_current()


@dataclass(frozen=True)
class Counted:
    """One call's place in its window."""

    calls: int
    limit: int
    wait: float  # seconds until the window ends
    epoch: str

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

    def count(self, request: Request | HttpRequest, *, ident: str | None = None) -> Counted | None:
        """Count this call once (``None``: this throttle does not apply to it).

        ``ident`` lets a fast path count before it has checked who the caller is."""
        counted_on = _django_request(request).__dict__.setdefault("_throttle_counts", {})
        if self.scope in counted_on:
            return counted_on[self.scope]
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = ident or self.ident(request)
        if rate is None or ident is None:
            return None
        limit, _, period = rate.partition("/")
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]
        now = time.time()
        window = int(now // duration)
        calls, epoch = count_and_epoch(
            f"throttle:{self.scope}:{ident}:{window}", timeout=duration + 1
        )
        counted = Counted(calls, int(limit), (window + 1) * duration - now, epoch)
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

    Not the token's public prefix: a stranger who knows it but not the secret would
    then spend the token's allowance. Each valid token has exactly one key, so counting
    by key is counting by token, and a fast path can count before the key is checked.
    """
    key = presented_key(request)
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else None


class TokenThrottle(WindowThrottle):
    """Token holders, by token (``API_TOKEN_RATE``)."""

    scope = "registry_token"

    def ident(self, request: Request | HttpRequest) -> str | None:
        return token_ident(request) if token_from_request(request) is not None else None


THROTTLES = [AnonymousThrottle, TokenThrottle]
