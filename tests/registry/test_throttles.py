import pytest
from django.core.cache import cache

from registry.services import exclusion_add
from registry.throttles import window_count

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


def test_a_wrong_secret_does_not_spend_the_token_s_allowance(client, token, rates) -> None:
    rates("100/minute", "2/minute")
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    stranger = {"HTTP_AUTHORIZATION": f"Api-Key {token.split('.')[0]}.guessed"}
    for _ in range(3):
        refused = client.get(EXPORT, HTTP_IF_NONE_MATCH='"0-stale-txt"', **stranger)
        assert refused.status_code == 401
    owner = {"HTTP_AUTHORIZATION": f"Api-Key {token}"}
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH='"0-stale-txt"', **owner).status_code == 200


def test_throttle_counters_live_in_the_shared_redis(settings) -> None:
    """Every gunicorn worker counts in the same Redis key, one integer per caller and window."""
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


def test_calls_are_let_through_uncounted_when_the_cache_is_down(
    client, auth, rates, cache_down, caplog
) -> None:
    rates("1/minute", "1/minute")
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    checks = [client.get("/api/v1/check", {"repo": "a/b"}) for _ in range(3)]
    assert [r.status_code for r in checks] == [200, 200, 200]
    assert checks[0].json()["excluded"] is True
    exports = [client.get(EXPORT, **auth).status_code for _ in range(3)]
    assert exports == [200, 200, 200]
    assert client.get("/api/v1/log/checkpoint").status_code == 200
    assert "the cache is unreachable" in caplog.text
