"""What every schemathesis run over the API shares: the schema as the app serves it, every
check schemathesis has, generators for the formats the schema names, the rules OpenAPI
cannot state, the callers (auth modes), and the hypothesis settings.

Choices, for a CI run of a few minutes that finds the same thing every time:

- ``derandomize=True``: the examples are a function of the test, so a failure in CI
  reproduces locally, and a green run stays green until the code or the schema changes.
- ``max_examples=25`` per operation and caller (on top of schemathesis' own examples and
  boundary values, its coverage phase); ``CONTRACT_EXAMPLES`` raises it for a deeper run.
- no deadline (a loaded CI host is not a bug), and health checks that object to a
  function-scoped fixture or slow data are off: the fixture seeds state that the examples
  share on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from governance.wsgi import application
from registry import notes
from registry import receipts_format as receipt_format
from registry.checkpoints import checkpoint_signed
from registry.enums import ExclusionKind
from registry.models import PipelineToken
from registry.receipts import downstream_key_add, downstream_user_register
from registry.services import exclusion_add, exclusion_remove
from tests.identifier_strategies import pasted

load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())  # every check schemathesis has, none left out

SETTINGS = hypothesis_settings(
    max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "25")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

# schemathesis' own list of the statuses that refuse invalid input, plus 413: a body over
# the upload limit is refused before anything reads it (README, "The API").
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
)
# Loaded when collected: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

# Which run covers which operations: each app's test module takes its own.
PATHS = {
    "registry": r"^/api/v1/(check|exclusions/|log/|receipts/)",
    "optout": r"^/api/v1/requests/",
    "governance": r"^/api/v1/(datasets/|transparency)",
}

# --- callers ------------------------------------------------------------------------------
# Fixed keys: cases are generated before any fixture runs. Each test stores them hashed.
FULL_TOKEN = "contract.a-secret-used-only-by-the-contract-tests"
SCOPELESS_TOKEN = "noscope.another-secret-used-only-by-these-tests"
CALLERS = {
    "anonymous": {},
    "pipeline token with every scope": {"Authorization": f"Api-Key {FULL_TOKEN}"},
    "pipeline token without the scope": {"Authorization": f"Api-Key {SCOPELESS_TOKEN}"},
}


def _store_token(key: str, scopes: str) -> PipelineToken:
    prefix = key.split(".")[0]
    hashed = PipelineToken.objects.key_generator.hash(key)
    return PipelineToken.objects.create(
        id=f"{prefix}.{hashed}", prefix=prefix, hashed_key=hashed, name=prefix, scopes=scopes
    )


# --- formats the schema names (registry/api/common.py) ---------------------------------------
schemathesis.openapi.format("repository", pasted(ExclusionKind.REPOSITORY))
schemathesis.openapi.format("namespace", pasted(ExclusionKind.NAMESPACE))
schemathesis.openapi.format("subject", pasted(ExclusionKind.REPOSITORY, ExclusionKind.NAMESPACE))

# A receipt is a note signed by a registered downstream key (registry/receipts.py): the
# seeded user "contract" posts with the full token, for a checkpoint the log signed.
RECEIPT_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"contract").digest())
RECEIPT_KEY_NAME = "contract-key"


def _receipt(size: int, dataset: str) -> str:
    body = receipt_format.ReceiptBody(
        origin=django_settings.LOG_NAME,
        user="contract",
        dataset=dataset,
        size=size,
        root=checkpoint_signed(size).root_hash,
        manifest_sha256=hashlib.sha256(dataset.encode()).hexdigest(),
        applied_at=dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC),
    )
    return notes.sign_note(receipt_format.receipt_text(body), RECEIPT_KEY_NAME, RECEIPT_KEY)


schemathesis.openapi.format(
    "signed-receipt",
    st.builds(_receipt, st.integers(1, 3), st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,20}\Z")),
)

# --- rules OpenAPI cannot state -----------------------------------------------------------
# Rules between two parameters, stated in each operation's description; schema-valid
# input that breaks one is rightly a 400. Only positive cases are held to them.
_TWO_PARAMETER_RULES: dict[str, Callable[[dict], bool]] = {
    "log_entries": lambda q: q["end"] >= q["start"],
    "log_proof_inclusion": lambda q: q["index"] < q["size"],
    "receipts_inclusion_proof": lambda q: q["index"] < q["size"],
    "log_proof_consistency": lambda q: q["first"] <= q["second"],
    "receipts_consistency_proof": lambda q: q["first"] <= q["second"],
    "dataset_lookup": lambda q: ("repo" in q) != ("owner" in q),
}


def breaks_unstated_rule(case) -> bool:
    """Whether a schema-valid case breaks one of ``_TWO_PARAMETER_RULES``."""
    rule = _TWO_PARAMETER_RULES.get(case.operation.definition.raw.get("operationId"))
    if rule is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return False
    try:
        return not rule(dict(case.query or {}))
    except (KeyError, TypeError):  # a parameter left out or not a number: schema-invalid
        return False


@schema.hook
def filter_case(context, case) -> bool:
    return not breaks_unstated_rule(case)  # generated cases; explicit ones: call_and_validate


def checks_for(case) -> list:
    """Every check; for a case that only breaks a rule OpenAPI cannot state (the hook keeps
    generated ones away; schemathesis' own boundary values, examples and linked calls get
    through), every check but the one that expects schema-valid input to be taken."""
    if not breaks_unstated_rule(case):
        return ALL_CHECKS
    return [
        check for check in ALL_CHECKS if check is not CHECKS.get_one("positive_data_acceptance")
    ]


def assert_unstated_rule_refused(case, response) -> None:
    """Such a case must be refused with a 400 naming a parameter at fault."""
    if breaks_unstated_rule(case) and response.status_code not in {401, 403, 404, 429}:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["fields"], response.text


def call_and_validate(case, headers: dict[str, str]) -> None:
    response = case.call_and_validate(headers=headers, checks=checks_for(case))
    assert_unstated_rule_refused(case, response)


# --- the state every run starts from --------------------------------------------------------
@pytest.fixture
def api_state(db, settings) -> Iterator[None]:
    """Two tokens, a downstream user, a small log with signed checkpoints, rates that do not
    throttle the run. Calls go straight through the WSGI app, whose request signals would
    close the connection holding the test's transaction (Django's test client does the same).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "registry_token": "100000/minute"},
    }
    settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP = 100_000
    full = _store_token(FULL_TOKEN, "registry:read")
    _store_token(SCOPELESS_TOKEN, "")
    user = downstream_user_register(name="contract", token=full, description="contract tests")
    downstream_key_add(
        user=user, verifier_key=str(notes.verifier_key_for(RECEIPT_KEY_NAME, RECEIPT_KEY))
    )
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c:1", reason="r")
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
