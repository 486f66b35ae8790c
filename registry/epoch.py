"""The registry's cache epoch: what lets the hottest API calls skip the database.

A 304 on the export (docs/api.md, "Performance") needs two facts that rarely change: the
newest checkpoint's size and root, and whether the token presented is valid. Reading them
from PostgreSQL on every call was most of its cost. Each process now keeps them in an
``EpochCache``, tagged with the *epoch* they were read under.

The epoch is one random value in the shared cache (Redis in production). Every write to a
checkpoint or a token replaces it (``epoch_bump``, wired to the models' signals in
``registry.receivers``), and so does every log append (``registry.log``): the single
check's resident copy of the exclusions (``registry.resident``) follows it too. The 304,
which carries no data, reads ``epoch_recent``: this process's copy of the epoch, read again
once it is ``EPOCH_FRESH_FOR`` old, so it makes no round trip at all in the common case. A
304 or a single check may thus answer from the state of up to a second ago in other
processes (at once in the one that wrote); every other call that returns data reads the
database.

``epoch_bump`` replaces the value at once and again after the transaction commits: the first
serves reads inside the same transaction, the second makes sure no process keeps what it
read between the write and the commit under the new epoch. A change that bypasses the ORM
(raw SQL) is not seen; ``MAX_AGE`` bounds how long a cached value can then outlive it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

from registry.shared_redis import shared_redis

logger = logging.getLogger(__name__)

EPOCH_KEY = "registry:epoch"
MAX_AGE = 60.0  # seconds: the backstop for a change the signals did not see
EPOCH_FRESH_FOR = 1.0  # seconds a process answers 304s from its copy of the epoch

_recent: tuple[float, str] | None = None  # (monotonic time read, epoch) in this process

Value = TypeVar("Value")


def new_epoch() -> str:
    return secrets.token_hex(8)


def epoch_key() -> str:
    """The epoch's key in Redis, with the cache's prefix and version."""
    redis_and_cache = shared_redis()
    return EPOCH_KEY if redis_and_cache is None else redis_and_cache[1].make_key(EPOCH_KEY)


def _replace() -> None:
    global _recent
    _recent = None  # this process sees its own writes at once
    try:
        redis_and_cache = shared_redis()
        if redis_and_cache is None:
            cache.set(EPOCH_KEY, new_epoch(), timeout=None)
        else:  # raw, not pickled: the throttle's Lua script reads it as a string
            redis_and_cache[0].set(epoch_key(), new_epoch())
    except Exception:  # the write itself must not fail because the cache is down
        logger.exception("Could not replace the cache epoch; caches expire in %ss", MAX_AGE)


def epoch_bump() -> None:
    """Invalidate every process's cached checkpoints and tokens (now and after commit)."""
    _replace()
    transaction.on_commit(_replace)


def epoch_current() -> str:
    """The epoch, read alone (for callers that make no throttle round trip)."""
    redis_and_cache = shared_redis()
    if redis_and_cache is None:
        value = cache.get(EPOCH_KEY)
        if value is None:
            cache.add(EPOCH_KEY, new_epoch(), timeout=None)
            value = cache.get(EPOCH_KEY)
        return value
    client = redis_and_cache[0]
    key = epoch_key()
    client.set(key, new_epoch(), nx=True)
    return client.get(key).decode()


def epoch_recent() -> str:
    """The epoch as this process read it at most ``EPOCH_FRESH_FOR`` seconds ago."""
    global _recent
    now = time.monotonic()
    recent = _recent
    if recent is not None and now - recent[0] < EPOCH_FRESH_FOR:
        return recent[1]
    epoch = epoch_current()
    _recent = (now, epoch)
    return epoch


class EpochCache(Generic[Value]):
    """Values loaded from the database, kept while the epoch holds and for ``MAX_AGE``.

    ``load`` returning ``None`` (an unknown token, no checkpoint yet) is not kept, so a
    miss always asks the database again. At most ``max_entries`` values; when full, the
    cache starts over (no key the caller sends can grow it without bound).
    """

    def __init__(self, load: Callable[[Hashable], Value | None], *, max_entries: int = 1024):
        self._load = load
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[str, float, Value]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, *, epoch: str) -> Value | None:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == epoch and now - entry[1] < MAX_AGE:
            return entry[2]
        value = self._load(key)
        if value is not None:
            with self._lock:
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                self._entries[key] = (epoch, now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
