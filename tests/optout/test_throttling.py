"""Submission limits, and what happens to them when the cache is down."""

import socket

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    """The cache is a Redis nobody listens on (Django rebuilds its caches on this change)."""
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }


def test_a_request_is_still_submitted_when_the_cache_is_down(client, cache_down, caplog) -> None:
    body = {"subjects": ["octo/hello"], "contact_email": "me@example.org"}
    response = client.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["outcome"] == "accepted"
    assert "the cache is unreachable" in caplog.text
