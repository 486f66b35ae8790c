"""Schemathesis over every owner operation (submit, read, check now, withdraw), with every
check, for each kind of caller: anonymous, a pipeline token (which the owner API ignores),
and the owner with the status token of a request (tests/api_contract.py)."""

from __future__ import annotations

import pytest
from schemathesis.core.parameters import ParameterLocation

from optout.services import request_submit
from tests.api_contract import (
    CALLERS,
    PATHS,
    SETTINGS,
    api_state,  # noqa: F401 (a fixture)
    call_and_validate,
    schema,
)

OWNER = "owner with the request's status token"


@pytest.fixture
def owned(api_state) -> tuple[str, str]:  # noqa: F811
    """A request awaiting proof: its id and status token."""
    result = request_submit(lines=["github.com/octo/hello"], contact_email="o@example.org")
    assert result.request is not None
    return str(result.request.public_id), result.status_token


@pytest.mark.parametrize("caller", [*CALLERS, OWNER])
@schema.include(path_regex=PATHS["optout"]).parametrize()
@SETTINGS
def test_every_owner_operation_keeps_its_schema(case, caller, owned) -> None:
    headers = dict(CALLERS.get(caller, {}))
    if caller == OWNER and "public_id" in (case.path_parameters or {}):
        # The owner's own request, wherever the case is not deliberately invalid there.
        public_id, token = owned
        if not case.meta.is_negative_at(ParameterLocation.PATH):
            case.path_parameters = {**case.path_parameters, "public_id": public_id}
        if not case.meta.is_negative_at(ParameterLocation.HEADER):
            case.headers = {**(case.headers or {}), "X-Status-Token": token}
    call_and_validate(case, headers)
