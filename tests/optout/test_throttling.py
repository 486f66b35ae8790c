"""Submission limits, and what happens to them when the cache is down."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_request_is_still_submitted_when_the_cache_is_down(client, cache_down, caplog) -> None:
    body = {"subjects": ["octo/hello"], "contact_email": "me@example.org"}
    response = client.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["outcome"] == "accepted"
    assert "the cache is unreachable" in caplog.text
