import pytest
from django.core.cache import cache

from registry.epoch import epoch_bump
from registry.services import exclusion_add
from registry.throttles import count_and_epoch

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


def test_one_round_trip_counts_and_reads_the_epoch(rates) -> None:
    first = count_and_epoch("throttle:t:1", timeout=60)
    second = count_and_epoch("throttle:t:1", timeout=60)
    assert (first[0], second[0]) == (1, 2)
    assert first[1] == second[1] and len(first[1]) == 16
    epoch_bump()
    third = count_and_epoch("throttle:t:1", timeout=60)
    assert third[0] == 3 and third[1] != first[1]


def test_throttle_counters_and_the_epoch_live_in_the_shared_redis(settings, rates) -> None:
    """Every gunicorn worker counts in the same Redis key, and reads the same epoch: one
    process-wide client per pool must not turn either into a per-process value."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): the in-memory cache is per process by design")
    import redis

    from registry.epoch import epoch_key

    assert [count_and_epoch("throttle:t:1", timeout=60)[0] for _ in range(2)] == [1, 2]
    other_worker = redis.Redis.from_url(settings.REDIS_URL)  # its own pool and connection
    full_key = cache.make_and_validate_key("throttle:t:1")
    assert int(other_worker.get(full_key)) == 2
    assert 0 < other_worker.ttl(full_key) <= 60
    other_worker.incr(full_key)
    other_worker.set(epoch_key(), "set-by-another-1")
    assert count_and_epoch("throttle:t:1", timeout=60) == (4, "set-by-another-1")
    other_worker.delete(epoch_key())  # Redis restarted empty: a new epoch, never an old one
    assert count_and_epoch("throttle:t:1", timeout=60)[0] == 5
    epoch = count_and_epoch("throttle:t:1", timeout=60)[1]
    assert epoch not in ("set-by-another-1", "") and other_worker.get(epoch_key()).decode() == epoch
    other_worker.close()
