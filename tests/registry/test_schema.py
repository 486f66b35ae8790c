"""Schemathesis over every registry operation (the check, exports, changes, the log and
its proofs, downstream receipts), with every check, for each kind of caller: anonymous, a
pipeline token with every scope, and one without the scope (tests/api_contract.py)."""

import pytest

from tests.api_contract import (
    CALLERS,
    PATHS,
    SETTINGS,
    api_state,  # noqa: F401 (a fixture)
    call_and_validate,
    schema,
)


@pytest.mark.parametrize("caller", list(CALLERS))
@schema.include(path_regex=PATHS["registry"]).parametrize()
@SETTINGS
def test_every_registry_operation_keeps_its_schema(case, caller, api_state) -> None:  # noqa: F811
    call_and_validate(case, CALLERS[caller])
