import pytest
from django.core import mail

from optout.enums import RequestStatus
from optout.models import RequestEvent
from optout.services import TransitionError, request_submit, request_transition
from registry.models import Exclusion
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db


def test_a_submission_with_a_bad_line_creates_nothing_and_names_the_line() -> None:
    result = request_submit(
        lines=["octocat/hello", "evil.example/x/y"], contact_email="a@example.org"
    )
    assert result.request is None
    assert list(result.errors) == [2]
    assert "not a supported host" in result.errors[2]


def test_a_submission_records_its_first_event_and_canonical_subjects() -> None:
    request = make_request(["https://github.com/Octo/Hello.git", "octo/hello"])
    assert list(request.subjects.values_list("subject", flat=True)) == ["github.com/octo/hello"]
    assert list(request.events.values_list("to_status", flat=True)) == ["pending_verification"]


def test_approval_writes_the_exclusion_and_an_event(django_capture_on_commit_callbacks) -> None:
    request = make_request(["octo/hello"])
    with django_capture_on_commit_callbacks(execute=True):
        approve(request)
    assert Exclusion.objects.get(active=True).subject == "github.com/octo/hello"
    assert list(request.events.values_list("from_status", "to_status")) == [
        ("", "pending_verification"),
        ("pending_verification", "verified"),
        ("verified", "approved"),
    ]
    assert [m.subject for m in mail.outbox] == [
        "Your opt-out request is now verified",
        "Your opt-out request is now approved",
    ]
    assert mail.outbox[1].alternatives[0][1] == "text/html"
    assert (
        RequestEvent.objects.filter(notified_at=None)
        .exclude(to_status="pending_verification")
        .count()
        == 0
    )


def test_a_pending_request_cannot_be_approved_without_verification() -> None:
    request = make_request(["octo/hello"])
    with pytest.raises(TransitionError, match="pending verification cannot become approved"):
        request_transition(request_id=request.id, to_status=RequestStatus.APPROVED)
    assert not Exclusion.objects.exists()


def test_withdrawing_an_approved_request_removes_its_exclusion() -> None:
    request = approve(make_request(["octo/hello"]))
    request_transition(
        request_id=request.id, to_status=RequestStatus.WITHDRAWN, reason="opt back in"
    )
    assert not Exclusion.objects.filter(active=True).exists()


def test_withdrawing_one_of_two_approved_requests_keeps_the_other_ones_exclusion() -> None:
    # Both asked before either was approved; the second's approval found the exclusion there.
    first = make_request(["octo/a"])
    second = make_request(["octo/a"], email="other@example.org")
    approve(first)
    approve(second)
    request_transition(request_id=first.id, to_status=RequestStatus.WITHDRAWN, actor_label="owner")
    assert list(Exclusion.objects.filter(active=True).values_list("subject", "cause")) == [
        ("github.com/octo/a", second.cause)
    ]
    request_transition(request_id=second.id, to_status=RequestStatus.WITHDRAWN, actor_label="owner")
    assert not Exclusion.objects.filter(active=True).exists()


def test_auto_approval_approves_on_verification(settings) -> None:
    settings.OPTOUT_AUTO_APPROVE = True
    request = make_request(["octo/hello"])
    request = request_transition(request_id=request.id, to_status=RequestStatus.VERIFIED)
    assert request.status == RequestStatus.APPROVED


def test_a_thousand_lines_take_a_handful_of_queries(django_assert_max_num_queries) -> None:
    lines = [f"github.com/owner{i % 50}/repo-{i}" for i in range(1000)]
    # Constant in the number of lines (SQLite splits the bulk insert into a few batches).
    with django_assert_max_num_queries(16):
        result = request_submit(lines=lines, contact_email="big@example.org")
    assert result.request is not None
    assert result.request.subjects.count() == 1000


def test_lines_are_answered_in_order_with_their_outcome() -> None:
    from registry import services as registry_services

    registry_services.exclusion_add(kind="namespace", subject="gitlab.com/acme", cause="test")
    make_request(["octo/mine"], email="me@example.org")
    result = request_submit(
        lines=["octo/new", "", "Octo/New", "gitlab.com/acme/sub/*", "octo/mine"],
        contact_email="ME@example.org",
    )
    assert [(r.number, r.outcome) for r in result.lines] == [
        (1, "accepted"),
        (3, "duplicate"),
        (4, "already_excluded"),
        (5, "accepted"),  # open in another request to this address: said only by e-mail
    ]
    assert sorted(s.subject for s in result.request.subjects.all()) == [
        "github.com/octo/mine",
        "github.com/octo/new",
    ]
