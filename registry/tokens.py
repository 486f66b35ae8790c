"""Pipeline API tokens: creation (a service), the scope check and the throttles.

Tokens come from djangorestframework-api-key: a random key shown once, stored as a
SHA-512 hash with a public prefix, with an expiry date and a one-way ``revoked`` flag.
Callers send ``Authorization: Api-Key <prefix>.<secret>``.
"""

from __future__ import annotations

import datetime as dt
import functools
import time

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, models
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework_api_key.permissions import KeyParser

from registry.enums import TokenScope
from registry.models import PipelineToken

_parser = KeyParser()


class TokenError(ValueError):
    """Token input that cannot be used, with a message saying how to fix it."""


def token_create(
    *, name: str, scopes: list[str], expires_days: int | None = None
) -> tuple[PipelineToken, str]:
    """Create a token and return it with its secret, which is never stored or shown again."""
    name = name.strip()
    if not name or len(name) > 50:
        raise TokenError("Give the token a name of 1 to 50 characters (who or what uses it).")
    known = set(TokenScope.values)
    unknown = [s for s in scopes if s not in known]
    if unknown or not scopes:
        raise TokenError(
            f"Unknown scope(s) {unknown or scopes}; choose from {', '.join(sorted(known))}."
        )
    if expires_days is not None and expires_days < 1:
        raise TokenError("--expires-days must be 1 or more (or left out for no expiry).")
    expiry = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
    return PipelineToken.objects.create_key(
        name=name, scopes=" ".join(sorted(set(scopes))), expiry_date=expiry
    )


def token_from_request(request: Request | HttpRequest) -> PipelineToken | None:
    """The valid token the request carries, ``None`` without one; raises on a bad one.

    The lookup is cached on the request: the permission and the throttle both ask.
    """
    request = getattr(request, "_request", request)  # cache on Django's request
    if hasattr(request, "_pipeline_token"):
        return request._pipeline_token
    key = _parser.get(request)
    token = None
    if key:
        token = _usable_token(key)
        if token is None:
            raise AuthenticationFailed("The API token is unknown or revoked.")
        if token.has_expired:
            raise AuthenticationFailed("The API token has expired; ask a maintainer for a new one.")
    request._pipeline_token = token
    return token


def _aware(value: object) -> object:
    """SQLite hands raw queries dates as text or naive values, in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _usable_token(key: str) -> PipelineToken | None:
    """``PipelineToken.objects.get_from_key`` (unrevoked, by prefix, hash verified) as one
    raw query: building the ORM query cost more CPU than the rest of a 304 (docs/api.md,
    "Performance"). Every call still reads the row, so a revocation applies at once."""
    prefix = key.partition(".")[0]
    fields = PipelineToken._meta.concrete_fields  # from_db wants them in this order
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(PipelineToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE prefix = %s AND NOT revoked",  # noqa: S608
            [prefix],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        _aware(v) if isinstance(f, models.DateTimeField) else v
        for f, v in zip(fields, row, strict=True)
    ]
    token = PipelineToken.from_db(connection.alias, [f.attname for f in fields], values)
    return token if token.is_valid(key) else None


class ApiKeyChallenge(BaseAuthentication):
    """Accepts a pipeline token (no user: ``request.auth`` is the token) and names the
    ``Api-Key`` scheme, so a missing or bad token gets 401 and a wrong scope 403."""

    def authenticate(self, request: Request) -> tuple[None, PipelineToken] | None:
        token = token_from_request(request._request)
        return None if token is None else (None, token)

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class HasRegistryRead(BasePermission):
    """A valid, unexpired, unrevoked token with the ``registry:read`` scope."""

    message = "This endpoint needs a token with the registry:read scope."

    def has_permission(self, request: Request, view: object) -> bool:
        token = token_from_request(request)
        if token is None:
            raise NotAuthenticated(
                "Send a pipeline token as 'Authorization: Api-Key <token>'; "
                "maintainers create them in the admin or with manage.py create_api_token."
            )
        return token.has_scope(TokenScope.REGISTRY_READ)


# Add one and (re)arm the expiry in one command: a script is one round trip like a pipeline,
# with less client-side work per call (the throttle runs on every API call).
_INCR_EXPIRE = (
    "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return n"
)


@functools.cache
def _counter_script(pool: redis.ConnectionPool) -> redis.commands.core.Script:
    # Django's RedisCache builds a new redis.Redis (and its table of ~170 response
    # callbacks) on every call; that cost more CPU than the round trip. One client per
    # connection pool is thread-safe and still talks to the shared Redis.
    return redis.Redis(connection_pool=pool).register_script(_INCR_EXPIRE)


def _count(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires, in one round trip on Redis (shared by workers)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        script = _counter_script(backend._cache._get_connection_pool(write=True))
        return int(script(keys=[full_key], args=[timeout]))
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # the key expired between add and incr
        backend.add(key, 1, timeout=timeout)
        return 1


class _WindowThrottle(BaseThrottle):
    """A fixed-window counter in the cache: O(1) per call.

    DRF's ``SimpleRateThrottle`` stores every request time of the window in one cache
    value and rewrites it on each call, which grows with the rate; a counter does not.
    The rate is read on each call (DRF binds it at import), so settings changes apply.
    """

    scope: str

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: object) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident(request)
        if rate is None or ident is None:
            return True
        count, _, period = rate.partition("/")
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]
        now = time.time()
        window = int(now // duration)
        calls = _count(f"throttle:{self.scope}:{ident}:{window}", timeout=duration + 1)
        self._wait = (window + 1) * duration - now
        return calls <= int(count)

    def wait(self) -> float:
        return self._wait


class AnonymousThrottle(_WindowThrottle):
    """Anonymous callers, by address (``API_ANON_RATE``); token holders skip it."""

    scope = "anon"

    def ident(self, request: Request) -> str | None:
        return None if token_from_request(request) is not None else self.get_ident(request)


class TokenThrottle(_WindowThrottle):
    """Token holders, by token (``API_TOKEN_RATE``)."""

    scope = "registry_token"

    def ident(self, request: Request) -> str | None:
        token = token_from_request(request)
        return None if token is None else token.prefix


THROTTLES = [AnonymousThrottle, TokenThrottle]
