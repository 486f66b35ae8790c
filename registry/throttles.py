"""Rate limits of the pipeline API: fixed-window counters in the shared cache.

Anonymous callers are counted by address (``API_ANON_RATE``), token holders by token
(``API_TOKEN_RATE``). Every worker counts in the same Redis key.

A process does not ask Redis on every call. It takes a caller's allowance in *leases*
(``Leases``): the first call of a window takes one, and while the caller keeps calling
each lease is twice the last, up to ``LEASE_MAX`` calls and never more than a
``LEASE_SHARE``-th of what is left of the window. A lease is counted in Redis before any
of it is used, so all processes together never admit more than the limit; near the limit
leases are single calls, exact as before. A caller who stays well below the limit costs
a round trip on most calls; a busy one, one per lease (docs/api.md, "Performance").
What a process leased but did not use before the window ends is not given to others.

A call counted by a view's fast path (``registry.api.fast``) is not counted again if it
falls through to DRF's full cycle: the count travels on the request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from registry.shared_redis import run_script, shared_redis
from registry.tokens import presented_key, token_from_request

# Add ``amount`` and arm the expiry when the window opens, in one command: a script is one
# round trip like a pipeline, with less client-side work per call.
_COUNT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
LEASE_MAX = 32  # calls: at most one Redis round trip per this many of a busy caller's
LEASE_SHARE = 16  # a lease is at most this fraction of what is left of the allowance
HELD_MAX = 10_000  # callers whose leases a process keeps before it drops ended windows


def window_count(key: str, *, timeout: int, amount: int = 1) -> int:
    """Add ``amount`` to a counter that expires ``timeout`` seconds after its first call;
    the new total."""
    redis_and_cache = shared_redis()
    if redis_and_cache is not None:
        client, backend = redis_and_cache
        return int(run_script(client, _COUNT, [backend.make_key(key)], [timeout, amount]))
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # the key expired between add and incr
        cache.add(key, amount, timeout=timeout)
        return amount


@dataclass
class _Lease:
    ends: float  # when its window ends (time.time())
    left: int  # calls granted to this process and not used yet
    next_size: int  # what the next lease asks for


class Leases:
    """This process's leases on callers' allowances, one per counter key and window."""

    def __init__(self) -> None:
        self._held: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, key: str, *, limit: int, ends: float, timeout: int) -> bool:
        """Use one call of ``key``'s allowance for the window ending at ``ends``: from
        this process's lease when it has one, else from a new lease counted in Redis."""
        held_as = cache.make_key(key)  # with the cache's prefix, as Redis names it
        with self._lock:
            lease = self._held.get(held_as)
            if lease is not None and lease.ends != ends:
                lease = None  # a lease of an earlier window
            if lease is not None and lease.left > 0:
                lease.left -= 1
                return True
            size = 1 if lease is None else lease.next_size
        total = window_count(key, timeout=timeout, amount=size)
        granted = max(0, min(size, limit - (total - size)))
        next_size = max(1, min(2 * size, LEASE_MAX, (limit - total) // LEASE_SHARE))
        with self._lock:
            lease = self._held.get(held_as)
            if lease is None or lease.ends != ends:
                if len(self._held) >= HELD_MAX:
                    self._forget(time.time())
                lease = self._held[held_as] = _Lease(ends, 0, next_size)
            lease.left += max(0, granted - 1)  # another thread's lease may be there too
            lease.next_size = next_size
        return granted > 0

    def _forget(self, now: float) -> None:
        """Drop the leases of ended windows; all of them if that is not enough (forgetting
        a lease only costs its caller what was left of it)."""
        for key in [key for key, lease in self._held.items() if lease.ends <= now]:
            del self._held[key]
        if len(self._held) >= HELD_MAX:
            self._held.clear()


LEASES = Leases()


@dataclass(frozen=True)
class Counted:
    """One call's place in its window."""

    allowed: bool
    wait: float  # seconds until the window ends


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

    def get_ident(self, request: Request | HttpRequest) -> str:
        """The caller's address: the peer's, or the one the ``NUM_PROXIES`` trusted proxies
        in front saw (``API_TRUSTED_PROXIES``). DRF's does the same, but builds
        ``request.headers`` (every header) to read one of them."""
        meta = _django_request(request).META
        forwarded = meta.get("HTTP_X_FORWARDED_FOR")
        trusted = api_settings.NUM_PROXIES or 0
        if trusted == 0 or forwarded is None:
            return meta.get("REMOTE_ADDR")
        addresses = forwarded.split(",")
        return addresses[-min(trusted, len(addresses))].strip()

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
        ends = (window + 1) * duration
        allowed = LEASES.take(
            f"throttle:{self.scope}:{ident}:{window}",
            limit=int(limit),
            ends=ends,
            timeout=duration + 1,
        )
        counted = Counted(allowed, ends - now)
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
