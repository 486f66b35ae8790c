"""The review queue and the request page: everything goes through ``request_transition``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from optout.enums import RequestStatus, VerificationMethod
from optout.models import RemovalRequest, RequestEvent, VerificationAttempt
from optout.services import request_transition
from optout.verification import request_verify
from registry.models import Exclusion
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db

QUEUE = "/admin/optout/removalrequest/"


def _verified(lines: list[str], *, email: str = "owner@example.org") -> RemovalRequest:
    request = make_request(lines, email=email)
    return request_transition(
        request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="test"
    )


def _aged(request: RemovalRequest, days: int) -> RemovalRequest:
    # Test set-up only: the age a request would have had, had it come in earlier.
    RemovalRequest.objects.filter(id=request.id).update(
        created_at=timezone.now() - timedelta(days=days)
    )
    request.refresh_from_db()
    return request


def _listed(page) -> list[RemovalRequest]:
    return list(page.context["cl"].result_list)


def _page(client, request: RemovalRequest) -> str:
    return client.get(f"{QUEUE}{request.id}/change/").content.decode()


def _decide(client, request: RemovalRequest, decision: str, reason: str = ""):
    return client.post(
        f"{QUEUE}{request.id}/decide/", {"decision": decision, "reason": reason}, follow=True
    )


# --- The queue ---------------------------------------------------------------------------


def test_the_queue_shows_verified_requests_awaiting_review_oldest_first(admin_client) -> None:
    newer = _verified(["octo/newer"])
    older = _aged(_verified(["octo/older"]), days=3)
    make_request(["octo/unproven"])
    approve(make_request(["octo/approved"]))

    page = admin_client.get(QUEUE)

    assert _listed(page) == [older, newer]
    assert "Verified, awaiting review" in page.content.decode()


def test_the_queue_lists_every_state_when_asked(admin_client) -> None:
    verified = _verified(["octo/a"])
    unproven = make_request(["octo/b"])
    approved = approve(make_request(["octo/c"]))
    assert set(_listed(admin_client.get(QUEUE, {"state": "all"}))) == {
        verified,
        unproven,
        approved,
    }
    assert _listed(admin_client.get(QUEUE, {"state": "approved"})) == [approved]
    assert _listed(admin_client.get(QUEUE, {"state": "pending_verification"})) == [unproven]


def test_the_queue_shows_subjects_kind_method_and_age(admin_client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool", "git.loopback.test/alice"])
    git_server.create_repository(
        "alice/tool", {".dataset-optout": f"{request.verification_token}\n"}
    )
    git_server.create_repository(
        f"alice/dataset-optout-{request.verification_token}", {"README": "proof"}
    )
    request_verify(request_id=request.id)
    _aged(request, days=4)
    many = _verified([f"octo/repo{i}" for i in range(6)])

    page = admin_client.get(QUEUE)
    rows = {row.id: row for row in _listed(page)}
    model_admin = page.context["cl"].model_admin

    assert rows[request.id].status == RequestStatus.VERIFIED
    assert model_admin.subjects_shown(rows[request.id]) == (
        "git.loopback.test/alice, git.loopback.test/alice/tool"
    )
    assert model_admin.kind(rows[request.id]) == "both"
    assert model_admin.methods(rows[request.id]) == (
        "File .dataset-optout in the repository; Proof repository in the namespace"
    )
    assert model_admin.age(rows[request.id]) == "4 days"
    assert model_admin.subjects_shown(rows[many.id]) == (
        "github.com/octo/repo0, github.com/octo/repo1, github.com/octo/repo2 and 3 more"
    )
    assert model_admin.kind(rows[many.id]) == "repository"
    assert model_admin.methods(rows[many.id]) == "—"
    assert "and 3 more" in page.content.decode()


def test_the_queue_filters_by_method_host_and_date(admin_client, git_server) -> None:
    proven = make_request(["git.loopback.test/alice/tool"])
    git_server.create_repository(
        "alice/tool", {".dataset-optout": f"{proven.verification_token}\n"}
    )
    request_verify(request_id=proven.id)
    on_gitlab = _aged(_verified(["gitlab.com/group/project"]), days=30)

    by_method = admin_client.get(QUEUE, {"method": VerificationMethod.REPOSITORY_FILE})
    assert _listed(by_method) == [proven]
    assert _listed(admin_client.get(QUEUE, {"host": "gitlab.com"})) == [on_gitlab]
    assert _listed(admin_client.get(QUEUE, {"host": "github.com"})) == []
    since = str(timezone.now() - timedelta(days=7))  # as the "Past 7 days" link sends it
    recent = admin_client.get(QUEUE, {"created_at__gte": since})
    assert _listed(recent) == [proven]


def test_the_queue_searches_by_subject_email_and_id(admin_client) -> None:
    hello = _verified(["octo/hello"], email="alice@example.org")
    other = _verified(["someone/else"], email="bob@example.org")

    assert _listed(admin_client.get(QUEUE, {"q": "github.com/octo/hello"})) == [hello]
    assert _listed(admin_client.get(QUEUE, {"q": "bob@example.org"})) == [other]
    assert _listed(admin_client.get(QUEUE, {"q": str(hello.public_id)})) == [hello]
    assert _listed(admin_client.get(QUEUE, {"q": "nothing-like-it"})) == []


# --- The request page --------------------------------------------------------------------


def test_the_request_page_shows_a_request_with_its_history(admin_client) -> None:
    request = make_request(["octo/hello"])
    page = _page(admin_client, request)
    assert request.verification_token in page
    assert "history (what the owner sees)" in page.lower()
    assert 'name="_save"' not in page  # nothing on it is edited by a form


def test_approve_on_the_request_page_approves_and_tells_the_owner(
    admin_client, django_capture_on_commit_callbacks
) -> None:
    request = _verified(["octo/hello"])
    assert 'value="approve"' in _page(admin_client, request)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(admin_client, request, "approve")

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert response.redirect_chain[-1][0] == QUEUE
    assert "approved. The owner is told by e-mail." in response.content.decode()
    assert Exclusion.objects.filter(subject="github.com/octo/hello", active=True).exists()
    assert [m.subject for m in mail.outbox] == ["Your opt-out request is now approved"]
    assert request.events.last().actor_label == "admin"


def test_reject_without_a_reason_changes_nothing(admin_client) -> None:
    request = _verified(["octo/hello"])
    response = _decide(admin_client, request, "reject", reason="   ")
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED
    assert "Nothing was changed: give the reason the owner will read" in (response.content.decode())


def test_the_reason_of_a_rejection_reaches_the_owner(
    admin_client, client, django_capture_on_commit_callbacks
) -> None:
    request = _verified(["octo/hello"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _decide(admin_client, request, "reject", reason="The proof file names another request.")
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    event = request.events.last()
    assert (event.to_status, event.reason) == (
        RequestStatus.REJECTED,
        "The proof file names another request.",
    )
    assert "Reason: The proof file names another request." in mail.outbox[-1].body


def test_revoke_ends_an_approved_request_and_removes_its_exclusions(
    admin_client, django_capture_on_commit_callbacks
) -> None:
    request = approve(make_request(["octo/hello"]))
    page = _page(admin_client, request)
    assert 'value="revoke"' in page and 'value="approve"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        _decide(admin_client, request, "revoke", reason="Not the owner's repository after all.")
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    exclusion = Exclusion.objects.get(subject="github.com/octo/hello")
    assert (exclusion.active, exclusion.removed_reason) == (
        False,
        "Not the owner's repository after all.",
    )
    assert "Reason: Not the owner's repository after all." in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (RequestStatus.PENDING_VERIFICATION, ["reject"]),
        (RequestStatus.VERIFIED, ["approve", "reject"]),
        (RequestStatus.APPROVED, ["revoke"]),
        (RequestStatus.REJECTED, []),
    ],
)
def test_the_request_page_offers_only_the_decisions_its_status_allows(
    admin_client, status, offered
) -> None:
    request = make_request(["octo/hello"])
    path = {
        RequestStatus.VERIFIED: [RequestStatus.VERIFIED],
        RequestStatus.APPROVED: [RequestStatus.VERIFIED, RequestStatus.APPROVED],
        RequestStatus.REJECTED: [RequestStatus.REJECTED],
    }.get(status, [])
    for step in path:
        request_transition(request_id=request.id, to_status=step, actor_label="test")
    page = _page(admin_client, request)
    assert [d for d in ("approve", "reject", "revoke") if f'value="{d}"' in page] == offered


def test_a_decision_the_status_does_not_allow_is_refused(admin_client) -> None:
    request = make_request(["octo/hello"])  # unverified: cannot be approved
    response = _decide(admin_client, request, "approve")
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING_VERIFICATION
    assert "Nothing was changed: A request that is pending verification cannot be approved." in (
        response.content.decode()
    )
    assert not Exclusion.objects.exists()


def test_the_request_page_shows_the_evidence_of_every_attempt(admin_client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    request_verify(request_id=request.id)  # nothing there yet: two failed attempts
    git_server.create_repository(
        "alice/tool", {".dataset-optout": f"{request.verification_token}\n"}
    )
    request_verify(request_id=request.id)

    page = _page(admin_client, request)

    evidence = page[page.index('id="evidence"') :]
    assert VerificationAttempt.objects.filter(run__request=request).count() == 3
    assert evidence.count("<tr>") == 1 + 3  # the head, then one row per attempt
    assert evidence.count("<strong>proved</strong>") == 1
    assert evidence.count(">failed<") == 2
    assert "Found .dataset-optout with the token" in evidence
    assert "<dt>commit</dt>" in evidence


# --- Bulk actions ------------------------------------------------------------------------


def test_bulk_approve_approves_each_verified_request_and_reports_the_rest(admin_client) -> None:
    first, second = _verified(["octo/a"]), _verified(["octo/b"])
    unproven = make_request(["octo/c"])
    response = admin_client.post(
        f"{QUEUE}?state=all",
        {"action": "approve", "_selected_action": [first.id, second.id, unproven.id]},
        follow=True,
    )
    statuses = dict(RemovalRequest.objects.values_list("id", "status"))
    assert statuses == {
        first.id: RequestStatus.APPROVED,
        second.id: RequestStatus.APPROVED,
        unproven.id: RequestStatus.PENDING_VERIFICATION,
    }
    assert "2 request(s) approved." in response.content.decode()


def test_bulk_reject_asks_for_a_reason_and_passes_it_to_each_owner(admin_client) -> None:
    first, second = _verified(["octo/a"]), _verified(["octo/b"])
    chosen = {"action": "reject", "_selected_action": [first.id, second.id]}

    asked = admin_client.post(QUEUE, chosen)
    assert asked.status_code == 200
    assert "Reject 2 requests" in asked.content.decode()
    blank = admin_client.post(QUEUE, {**chosen, "apply": "1", "reason": ""})
    assert "This field is required" in blank.content.decode()
    assert RequestEvent.objects.filter(to_status=RequestStatus.REJECTED).count() == 0

    admin_client.post(QUEUE, {**chosen, "apply": "1", "reason": "Duplicate of an older request."})
    rejected = RequestEvent.objects.filter(to_status=RequestStatus.REJECTED)
    assert sorted(rejected.values_list("request_id", "reason")) == [
        (first.id, "Duplicate of an older request."),
        (second.id, "Duplicate of an older request."),
    ]


def test_bulk_revoke_asks_for_a_reason(admin_client) -> None:
    request = approve(make_request(["octo/a"]))
    chosen = {"action": "revoke", "_selected_action": [request.id]}
    asked = admin_client.post(f"{QUEUE}?state=approved", chosen)
    assert "Revoke 1 request" in asked.content.decode()
    admin_client.post(f"{QUEUE}?state=approved", {**chosen, "apply": "1", "reason": "Mistake."})
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert not Exclusion.objects.filter(active=True).exists()


def test_the_evidence_admin_lists_attempts(admin_client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    request_verify(request_id=request.id)
    page = admin_client.get("/admin/optout/verificationattempt/")
    assert page.status_code == 200
    assert "git.loopback.test/alice/tool" in page.content.decode()
