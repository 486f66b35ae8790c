"""The request lifecycle as a hypothesis state machine, on PostgreSQL through the services
every page, API call, admin action and command uses (``request_submit``,
``request_transition``, ``requests_expire_unverified``, ``requests_mark_applied``): any
sequence of submit, verify, approve, reject, withdraw, expire and release keeps

- one status at a time, the one the transition table allows, and a history that chains
  from the first status to it;
- every active exclusion traceable to a request that wants it and to the log entry that
  added it, and exactly the subjects of approved and applied requests excluded;
- the registry equal to the replay of its log."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from optout.enums import ALLOWED_TRANSITIONS, EXCLUDING_STATUSES, RequestStatus
from optout.models import RemovalRequest
from optout.services import (
    TransitionError,
    request_submit,
    request_transition,
    requests_expire_unverified,
    requests_mark_applied,
)
from registry.enums import LogAction
from registry.models import Exclusion, LogEntry
from registry.selectors import log_size

pytestmark = pytest.mark.django_db

# Few subjects, so that requests overlap: two requests may name the same repository.
LINES = ["octo/a", "github.com/team"]


class RequestLifecycle(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self._scenario = transaction.atomic()  # each run starts from an empty registry
        self._scenario.__enter__()
        self.status: dict[int, str] = {}  # the model: what each request's status must be
        self.releases = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._scenario.__exit__(None, None, None)

    @rule(target=requests, lines=st.lists(st.sampled_from(LINES), min_size=1, unique=True))
    def submit(self, lines: list[str]):
        result = request_submit(lines=lines, contact_email="owner@example.org")
        if result.request is None:  # every line already excluded: nothing was written
            assert not result.errors
            return multiple()
        self.status[result.request.id] = RequestStatus.PENDING_VERIFICATION
        return result.request.id

    def _transition(self, request_id: int, to: RequestStatus) -> None:
        allowed = to in ALLOWED_TRANSITIONS[self.status[request_id]]
        try:
            request_transition(request_id=request_id, to_status=to, actor_label="machine")
        except TransitionError:
            assert not allowed, f"{self.status[request_id]} -> {to} was refused"
            return
        assert allowed, f"{self.status[request_id]} -> {to} went through"
        self.status[request_id] = to

    @rule(request=requests)
    def verify(self, request: int) -> None:
        self._transition(request, RequestStatus.VERIFIED)

    @rule(request=requests)
    def approve(self, request: int) -> None:
        self._transition(request, RequestStatus.APPROVED)

    @rule(request=requests)
    def verify_and_approve(self, request: int) -> None:
        """The usual path in one step, so that runs reach deep states more often."""
        self._transition(request, RequestStatus.VERIFIED)
        self._transition(request, RequestStatus.APPROVED)

    @rule(request=requests)
    def reject(self, request: int) -> None:
        self._transition(request, RequestStatus.REJECTED)

    @rule(request=requests)
    def withdraw(self, request: int) -> None:
        self._transition(request, RequestStatus.WITHDRAWN)

    @rule()
    def expire(self) -> None:
        requests_expire_unverified(now=timezone.now() + timedelta(days=365))
        for request_id, status in self.status.items():
            if status == RequestStatus.PENDING_VERIFICATION:
                self.status[request_id] = RequestStatus.EXPIRED

    @rule()
    def release(self) -> None:
        self.releases += 1
        requests_mark_applied(up_to_log_size=log_size(), version_label=f"1.0.{self.releases}")
        for request_id, status in self.status.items():
            if status == RequestStatus.APPROVED:
                self.status[request_id] = RequestStatus.APPLIED

    @invariant()
    def one_status_each_with_a_history_that_leads_to_it(self) -> None:
        for request in RemovalRequest.objects.filter(id__in=self.status).prefetch_related("events"):
            assert request.status == self.status[request.id]
            steps = [(e.from_status, e.to_status) for e in request.events.order_by("id")]
            chain = [steps[0][0], *[to for _, to in steps]]
            assert chain[0] == "" and chain[-1] == request.status
            assert all(before == after for (_, before), (after, _) in pairwise(steps))

    @invariant()
    def the_registry_is_its_log_replayed(self) -> None:
        replayed: dict[tuple[str, str], str] = {}
        for action, kind, subject, cause in LogEntry.objects.order_by("index").values_list(
            "action", "kind", "subject", "cause"
        ):
            if action == LogAction.ADD:
                assert (kind, subject) not in replayed, f"{subject} added twice"
                replayed[(kind, subject)] = cause
            else:
                assert replayed.pop((kind, subject), None) is not None, f"{subject} not there"
        active = dict(
            ((kind, subject), cause)
            for kind, subject, cause in Exclusion.objects.filter(active=True).values_list(
                "kind", "subject", "cause"
            )
        )
        assert active == replayed

    @invariant()
    def every_exclusion_is_wanted_by_a_request_that_caused_it(self) -> None:
        wanted = {}
        for request in RemovalRequest.objects.filter(
            id__in=self.status, status__in=EXCLUDING_STATUSES
        ).prefetch_related("subjects"):
            for subject in request.subjects.all():
                wanted.setdefault((subject.kind, subject.subject), set()).add(request.cause)
        active = {
            (kind, subject): cause
            for kind, subject, cause in Exclusion.objects.filter(active=True).values_list(
                "kind", "subject", "cause"
            )
        }
        assert set(active) == set(wanted)
        for key, cause in active.items():
            assert cause in wanted[key], (
                f"{key[1]} is excluded by {cause}, which no longer wants it"
            )


def test_any_sequence_of_decisions_keeps_the_lifecycle_invariants() -> None:
    run_state_machine_as_test(
        RequestLifecycle,
        settings=hypothesis_settings(
            max_examples=50,
            stateful_step_count=20,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
