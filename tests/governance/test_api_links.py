"""Schemathesis' stateful run over the OpenAPI links (governance/api_schema.py): sequences
of calls where each takes what an earlier answer gave (a new request's id and status token
to read, verify and withdraw it; log entries to their proofs; a changes page to the next
and to the export at its checkpoint; a dataset to its versions, changelog and verification),
with every check, including those only a sequence can fail (a resource used after it was
withdrawn, one that should exist and does not)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import settings as hypothesis_settings

from tests.api_contract import (
    CALLERS,
    SETTINGS,
    api_state,  # noqa: F401 (a fixture)
    assert_unstated_rule_refused,
    checks_for,
    schema,
)
from tests.governance.test_api_schema import published  # noqa: F401 (a fixture)

TOKEN = CALLERS["pipeline token with every scope"]


def _machine(answered: set[tuple[str, int]]):
    base = schema.as_state_machine()

    class Linked(base):  # type: ignore[misc, valid-type]
        # Each scenario starts from the same state (the fixture's), so that hypothesis can
        # replay one: its writes are rolled back and the rate-limit counters emptied.
        def setup(self) -> None:
            cache.clear()
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            answered.add((case.operation.label, response.status_code))

        def get_call_kwargs(self, case) -> dict:
            return {"headers": TOKEN}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(
                response,
                checks=checks_for(case),
                headers=TOKEN,
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )
            assert_unstated_rule_refused(case, response)

    return Linked


def test_the_links_lead_to_the_operations_they_name(client) -> None:
    served = client.get("/api/schema/?format=json").json()
    operations = [
        operation
        for item in served["paths"].values()
        for method, operation in item.items()
        if method in {"get", "post"}
    ]
    named = {
        link["operationId"]
        for operation in operations
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    }
    assert {"request_read", "request_verify", "request_withdraw", "log_proof_inclusion"} <= named
    assert named <= {operation["operationId"] for operation in operations}


@pytest.mark.usefixtures("published")
def test_linked_calls_keep_the_schema() -> None:
    answered: set[tuple[str, int]] = set()
    _machine(answered).run(
        settings=hypothesis_settings(
            SETTINGS, max_examples=3 * SETTINGS.max_examples, stateful_step_count=8
        )
    )
    # Only a link reaches these with a 2xx: a new request's id and token, a real version.
    assert {
        ("GET /api/v1/requests/{public_id}/", 200),
        ("POST /api/v1/requests/{public_id}/withdraw/", 200),
        ("GET /api/v1/datasets/{name}/versions/{version}/changelog/", 200),
    } <= answered, "\n".join(map(str, sorted(answered)))
