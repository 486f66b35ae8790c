"""Every owner API operation, fuzzed from its own OpenAPI schema (schemathesis).

Whatever is sent, the answer is never a server error, and every error has the single
JSON shape. schemathesis comes with the pipeline API's test requirements; without it
this module is skipped.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from governance.wsgi import application  # noqa: E402

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.mark.django_db(transaction=True)  # the WSGI app closes connections after each call
@schema.include(path_regex="^/api/v1/requests/").parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_owner_api_never_fails_and_keeps_the_error_shape(case) -> None:
    response = case.call()
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert response.headers["content-type"][0] == "application/json"
        body = response.json()
        assert list(body) == ["error"]
        assert sorted(body["error"]) == ["code", "fields", "message"]
