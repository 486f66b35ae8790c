"""What happens next, in words: each ended request says how it ended."""

import pytest

from optout.enums import RequestStatus
from optout.guidance import next_step
from optout.services import request_transition
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db


def _withdrawn(request, label: str):
    return request_transition(
        request_id=request.id, to_status=RequestStatus.WITHDRAWN, actor_label=label, reason="r"
    )


def test_a_request_cancelled_before_approval_says_nothing_was_excluded() -> None:
    cancelled = _withdrawn(make_request(["octo/hello"]), "owner")
    assert next_step(cancelled) == "The request was cancelled before anything was excluded."


def test_an_owners_withdrawal_says_the_code_comes_back() -> None:
    withdrawn = _withdrawn(approve(make_request(["octo/hello"])), "owner")
    assert next_step(withdrawn) == (
        "You withdrew the request; the code comes back in the next dataset version."
    )


def test_a_maintainers_revocation_is_not_called_the_owners_withdrawal() -> None:
    revoked = _withdrawn(approve(make_request(["octo/hello"])), "rita")
    assert next_step(revoked).startswith("The maintainers revoked the request")
