import uuid

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from registry import throttles
from registry.services import exclusion_add
from registry.throttles import LEASE_MAX, Leases, window_count

pytestmark = pytest.mark.django_db
EXPORT = "/api/v1/exclusions/export"


@pytest.fixture
def rates(settings):
    """Small limits (each test counts in its own cache namespace: tests/conftest.py)."""

    def set_rates(anon: str, token: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": anon, "registry_token": token},
        }

    return set_rates


def test_anonymous_calls_are_throttled(client, rates) -> None:
    rates("2/minute", "100/minute")
    codes = [client.get("/api/v1/check", {"repo": "a/b"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = client.get("/api/v1/check", {"repo": "a/b"})
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_a_forwarded_for_header_does_not_give_a_fresh_allowance(client, rates) -> None:
    """Without a trusted proxy, X-Forwarded-For is whatever the caller wrote."""
    rates("2/minute", "100/minute")
    codes = [
        client.get("/api/v1/check", {"repo": "a/b"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        for i in range(3)
    ]
    assert [r.status_code for r in codes] == [200, 200, 429]


def test_a_trusted_proxy_s_forwarded_address_is_counted(client, rates, settings) -> None:
    rates("1/minute", "100/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    first = client.get("/api/v1/check", {"repo": "a/b"}, HTTP_X_FORWARDED_FOR="192.0.2.1")
    other = client.get("/api/v1/check", {"repo": "a/b"}, HTTP_X_FORWARDED_FOR="192.0.2.2")
    again = client.get("/api/v1/check", {"repo": "a/b"}, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert [first.status_code, other.status_code, again.status_code] == [200, 200, 429]


def test_a_call_the_fast_path_passes_on_is_counted_once(client, auth, rates) -> None:
    """A stale ETag is counted by the 304 fast path, then served in full: one call."""
    rates("100/minute", "2/minute")
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    codes = [
        client.get(EXPORT, HTTP_IF_NONE_MATCH='"0-stale-txt"', **auth).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_a_wrong_secret_does_not_spend_the_token_s_allowance(client, token, rates) -> None:
    rates("100/minute", "2/minute")
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    stranger = {"HTTP_AUTHORIZATION": f"Api-Key {token.split('.')[0]}.guessed"}
    for _ in range(3):
        refused = client.get(EXPORT, HTTP_IF_NONE_MATCH='"0-stale-txt"', **stranger)
        assert refused.status_code == 401
    owner = {"HTTP_AUTHORIZATION": f"Api-Key {token}"}
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH='"0-stale-txt"', **owner).status_code == 200


def test_a_304_is_not_counted_against_the_token_s_allowance(client, auth, rates) -> None:
    rates("100/minute", "2/minute")
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]  # counted: 1
    for _ in range(5):
        assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    assert client.get(EXPORT, **auth).status_code == 200  # counted: 2
    assert client.get(EXPORT, **auth).status_code == 429


def test_throttle_counters_live_in_the_shared_redis(settings, rates) -> None:
    """Every gunicorn worker counts in the same Redis key: one process-wide client per
    pool must not turn the counter into a per-process one."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): the in-memory cache is per process by design")
    import redis

    assert [window_count("throttle:t:1", timeout=60) for _ in range(2)] == [1, 2]
    other_worker = redis.Redis.from_url(settings.REDIS_URL)  # its own pool and connection
    full_key = cache.make_and_validate_key("throttle:t:1")
    assert int(other_worker.get(full_key)) == 2
    assert 0 < other_worker.ttl(full_key) <= 60
    other_worker.incr(full_key)
    assert window_count("throttle:t:1", timeout=60) == 4
    other_worker.close()


def _counted(key: str) -> int:
    """What the shared counter holds: every call leased so far, used or not."""
    return window_count(key, timeout=60, amount=0)


def test_a_caller_s_first_call_of_a_window_leases_one_call() -> None:
    key = f"throttle:t:{uuid.uuid4().hex}"
    assert Leases().take(key, limit=1_000, ends=60.0, timeout=60)
    assert _counted(key) == 1


def test_a_busy_caller_costs_one_round_trip_per_lease_growing_to_lease_max() -> None:
    """Leases double from one call to LEASE_MAX: 100 calls are 8 round trips, whose
    leases (1 + 2 + ... + 32 + 32 + 32) are what the shared counter holds."""
    key = f"throttle:t:{uuid.uuid4().hex}"
    leases = Leases()
    assert all(leases.take(key, limit=1_000_000, ends=60.0, timeout=60) for _ in range(100))
    assert LEASE_MAX == 32
    assert _counted(key) == 1 + 2 + 4 + 8 + 16 + 32 + 32 + 32


def test_leases_near_the_limit_are_single_calls() -> None:
    """A lease is at most a sixteenth of what is left, so the last calls are exact."""
    key = f"throttle:t:{uuid.uuid4().hex}"
    leases = Leases()
    allowed = [leases.take(key, limit=20, ends=60.0, timeout=60) for _ in range(25)]
    assert allowed == [True] * 20 + [False] * 5
    assert _counted(key) == 25  # each call its own round trip: 20 - n < 32 leaves 1 a lease


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=300),
    calls=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=600),
)
def test_processes_together_never_admit_more_than_the_limit(limit, calls) -> None:
    """Four processes share a caller's allowance in any order. Whatever they leased, no
    more than the limit is ever admitted, and once each has used its leases up, exactly
    the limit was."""
    key = f"throttle:t:{uuid.uuid4().hex}"
    processes = [Leases() for _ in range(4)]
    allowed = sum(processes[p].take(key, limit=limit, ends=60.0, timeout=60) for p in calls)
    assert allowed <= limit
    for process in processes:
        while process.take(key, limit=limit, ends=60.0, timeout=60):
            allowed += 1
    assert allowed == limit


def test_a_lease_left_over_from_an_ended_window_is_not_used_in_the_next() -> None:
    key = f"throttle:t:{uuid.uuid4().hex}"
    leases = Leases()
    for _ in range(2):  # the second call leases two: one is left over
        assert leases.take(key, limit=100, ends=60.0, timeout=60)
    assert not leases.take(key, limit=3, ends=120.0, timeout=60)  # 3 counted: at the limit


def test_a_process_forgets_leases_rather_than_grow_without_bound(monkeypatch) -> None:
    monkeypatch.setattr(throttles, "HELD_MAX", 3)
    leases = Leases()
    for caller in range(10):
        assert leases.take(f"throttle:t:{uuid.uuid4().hex}:{caller}", limit=5, ends=9e9, timeout=60)
        assert len(leases._held) <= 3
