"""The Redis client the registry's hot paths share, when the cache is Redis.

Django's ``RedisCache`` builds a new ``redis.Redis`` (and its table of ~170 response
callbacks) on every call; on the API's hottest calls that cost more CPU than the round trip
(docs/benchmarks.md). One client per connection pool is thread-safe and still talks to the
one Redis every worker shares.
"""

from __future__ import annotations

import functools
import hashlib

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def shared_redis() -> tuple[redis.Redis, RedisCache] | None:
    """The client and the cache it serves, or ``None`` when the cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return _client(backend._cache._get_connection_pool(write=True)), backend


@functools.cache
def _client(pool: redis.ConnectionPool) -> redis.Redis:
    return redis.Redis(connection_pool=pool)


def run_script(client: redis.Redis, source: str, keys: list[str], args: list) -> object:
    """``EVALSHA`` a Lua script, loading it first if this Redis has not seen it.

    Called directly rather than through redis-py's ``Script`` object, whose bookkeeping
    cost as much client CPU as the round trip itself on the hot paths."""
    sha = _sha(source)
    try:
        return client.evalsha(sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:  # a restarted or flushed Redis forgot it
        client.script_load(source)
        return client.evalsha(sha, len(keys), *keys, *args)


@functools.cache
def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so
