"""Schemathesis over every registry operation, in-process through the WSGI app.

Each operation gets generated valid and invalid inputs; every response must be free of
server errors and match the documented status codes, content types and bodies.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from registry.models import PipelineToken
from registry.services import exclusion_add, exclusion_remove

REGISTRY_PATHS = r"^/api/v1/(check|exclusions/|log/)"


# A fixed key: schemathesis reads it once, when collecting, before any database exists.
TOKEN = "schemath.fixed-secret-used-only-by-these-tests"


@pytest.fixture
def wsgi_keeps_the_test_connection() -> Iterator[None]:
    """Calls go straight through the WSGI app, whose request signals would close the
    connection holding the test's transaction; Django's own test client does the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, settings, wsgi_keeps_the_test_connection) -> None:
    prefix = TOKEN.split(".")[0]
    hashed = PipelineToken.objects.key_generator.hash(TOKEN)
    PipelineToken.objects.create(
        id=f"{prefix}.{hashed}", prefix=prefix, hashed_key=hashed, name="schemathesis"
    )
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "registry_token": "100000/minute"},
    }
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c:1", reason="r")


# Loaded when the module is collected: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    path_regex=REGISTRY_PATHS
)


@schema.auth(refresh_interval=None)  # each test makes its own token
class PipelineTokenAuth:
    """Sends the token on generated cases, so negative cases can also leave it out."""

    def get(self, case, ctx) -> str:
        return TOKEN

    def set(self, case, data: str, ctx) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Api-Key {data}"}


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,  # the same cases every run: CI results do not flip
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_registry_operation_meets_its_schema(case, seeded) -> None:
    # Every check but positive_data_acceptance: rules that span fields or need parsing
    # (index below size, first not above second, a line that names a repository) cannot
    # be said in OpenAPI, so some schema-valid inputs rightly get a 400 in our error shape.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
