"""Every transparency figure, from known data: the page and the API show what happened,
read from the record that is written when it happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import release_start
from optout.enums import RequestStatus
from optout.models import RemovalRequest, RequestEvent
from optout.services import request_transition
from optout.transparency import WEEKS, transparency_figures
from registry.enums import LogAction
from registry.models import Exclusion, LogEntry
from registry.services import exclusion_add, exclusion_remove
from tests.factories import approve, make_dataset, make_request
from tests.registry.history import guards_off

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
THIS_MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)


def _request(n: int, *path: RequestStatus, submitted: datetime = NOW - 60 * DAY):
    """Request ``n`` taken through ``path``, submitted at ``submitted``."""
    request = make_request([f"github.com/owner{n}/repo"], email=f"o{n}@example.org")
    for status in path:
        request_transition(request_id=request.id, to_status=status, actor_label="test")
    RemovalRequest.objects.filter(id=request.id).update(created_at=submitted)
    return request


def _reached(request, status: RequestStatus, at: datetime) -> None:
    assert RequestEvent.objects.filter(request=request, to_status=status).update(created_at=at)


def test_requests_are_counted_by_state_and_by_week_of_submission() -> None:
    _request(1, submitted=NOW - DAY)  # this week
    _request(2, submitted=THIS_MONDAY)  # this week, its first instant
    _request(3, RequestStatus.VERIFIED, submitted=THIS_MONDAY - timedelta(seconds=1))
    _request(4, RequestStatus.VERIFIED, RequestStatus.REJECTED, submitted=NOW - 3 * WEEK)
    _request(5, RequestStatus.WITHDRAWN, submitted=NOW - 20 * WEEK)  # before the chart

    figures = transparency_figures(now=NOW)

    assert figures.requests_by_state == {
        **dict.fromkeys(RequestStatus.values, 0),
        "pending_verification": 2,
        "verified": 1,
        "rejected": 1,
        "withdrawn": 1,
    }
    weeks = [(THIS_MONDAY - n * WEEK).date().isoformat() for n in range(WEEKS - 1, -1, -1)]
    expected = dict.fromkeys(weeks, 0)
    expected[weeks[-1]] = 2
    expected[weeks[-2]] = 1
    expected[weeks[-4]] = 1
    assert figures.requests_per_week == list(expected.items())


def test_step_durations_are_the_median_and_90th_percentile_of_the_events() -> None:
    start = NOW - 30 * DAY
    for n in range(1, 11):  # verified → approved in 1 h, 2 h, … 10 h
        request = _request(n, RequestStatus.VERIFIED, RequestStatus.APPROVED)
        _reached(request, RequestStatus.VERIFIED, start)
        _reached(request, RequestStatus.APPROVED, start + n * HOUR)
        if n <= 4:  # approved → applied in 1, 2, 3, 4 days
            request_transition(
                request_id=request.id, to_status=RequestStatus.APPLIED, actor_label="t"
            )
            _reached(request, RequestStatus.APPLIED, start + n * HOUR + n * DAY)

    figures = transparency_figures(now=NOW)

    assert figures.verified_to_approved.count == 10
    assert figures.verified_to_approved.median_seconds == 5.5 * 3600
    assert figures.verified_to_approved.p90_seconds == 10 * 3600
    assert figures.approved_to_applied.count == 4
    assert figures.approved_to_applied.median_seconds == 2.5 * 86400
    assert figures.approved_to_applied.p90_seconds == 4 * 86400


def test_the_queue_is_the_verified_requests_and_its_oldest_waits_since_verification() -> None:
    for n, waited in [(1, 2 * HOUR), (2, 5 * DAY), (3, HOUR)]:
        _reached(_request(n, RequestStatus.VERIFIED), RequestStatus.VERIFIED, NOW - waited)
    decided = _request(4, RequestStatus.VERIFIED, RequestStatus.APPROVED)
    _reached(decided, RequestStatus.VERIFIED, NOW - 9 * DAY)  # no longer waiting
    _request(5)  # not verified: not the maintainers' queue

    figures = transparency_figures(now=NOW)

    assert figures.queue_length == 3
    assert figures.queue_oldest_seconds == (5 * DAY).total_seconds()


def test_the_next_release_is_the_soonest_of_the_scheduled_datasets(tmp_path) -> None:
    weekly = Dataset.objects.create(
        name="weekly", source_uri=str(tmp_path), release_cadence=timedelta(days=7)
    )
    Dataset.objects.create(name="manual", source_uri=str(tmp_path), release_cadence=None)
    daily = Dataset.objects.create(
        name="daily", source_uri=str(tmp_path), release_cadence=timedelta(days=1)
    )
    for dataset, started in [(weekly, NOW - 2 * DAY), (daily, NOW - 6 * HOUR)]:
        version = DatasetVersion.objects.create(
            dataset=dataset, version="1.0.0", log_size=0, status=VersionStatus.FAILED
        )
        DatasetVersion.objects.filter(id=version.id).update(created_at=started)

    assert transparency_figures(now=NOW).next_release_at == NOW + 18 * HOUR
    Dataset.objects.filter(id=daily.id).update(release_cadence=None)
    assert transparency_figures(now=NOW).next_release_at == NOW + 5 * DAY


def test_exclusions_over_time_follow_the_signed_log_not_the_rows_timestamps() -> None:
    for subject in ("a", "b", "c", "d"):
        exclusion_add(kind="repository", subject=f"github.com/o/{subject}", cause="t")
    exclusion_remove(kind="repository", subject="github.com/o/b", cause="t", reason="r")
    exclusion_remove(kind="repository", subject="github.com/o/d", cause="t", reason="r")
    when = {
        (LogAction.ADD, "a"): NOW - 20 * WEEK,  # before the chart
        (LogAction.ADD, "d"): NOW - 19 * WEEK,
        (LogAction.REMOVE, "d"): NOW - 18 * WEEK,
        (LogAction.ADD, "b"): THIS_MONDAY - 3 * WEEK,
        (LogAction.ADD, "c"): THIS_MONDAY - 2 * WEEK + DAY,
        (LogAction.REMOVE, "b"): THIS_MONDAY - timedelta(seconds=1),  # last week's end
    }
    with guards_off():  # the log is append-only; its times are set here as if it were then
        for (action, subject), at in when.items():
            LogEntry.objects.filter(action=action, subject=f"github.com/o/{subject}").update(
                created_at=at
            )
    # The rows' own timestamps say something else (they are not what the log signed).
    Exclusion.objects.update(created_at=NOW, updated_at=NOW)

    active = [count for _, count in transparency_figures(now=NOW).exclusions_per_week]

    assert active == [1] * (WEEKS - 4) + [2, 3, 2, 2]


@pytest.mark.django_db(transaction=True)  # releases run their steps after commit
def test_rows_left_out_of_a_version_are_the_rows_its_exclusions_match(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    source = pq.read_table(tmp_path / "source", columns=["repo_name"]).column(0)
    names = sorted(set(source.to_pylist()))
    release_start(dataset_id=dataset.id)
    repository, owner = names[0], names[-1].split("/")[0]
    approve(make_request([repository, f"github.com/{owner}"]))
    release_start(dataset_id=dataset.id)

    lowered = pc.utf8_lower(source)
    matched = pc.or_(
        pc.equal(lowered, repository.lower()),
        pc.starts_with(lowered, f"{owner.lower()}/"),
    )
    expected = pc.sum(matched.cast("int64")).as_py()
    rows = transparency_figures(now=NOW).rows_removed_per_version

    assert expected > 0
    assert [(row["version"], row["rows_removed"]) for row in rows] == [
        ("1.0.0", 0),
        ("1.0.1", expected),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_page_and_the_api_show_the_same_figures(client, tmp_path) -> None:
    now = timezone.now()
    _reached(_request(1, RequestStatus.VERIFIED, submitted=now), RequestStatus.VERIFIED, now)
    approve(_request(2, submitted=now))
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)

    answer = client.get("/api/v1/transparency").json()
    page = client.get("/transparency/").content.decode()
    figures = transparency_figures().as_json()

    for key in ("requests_by_state", "queue_length", "exclusions_per_week"):
        assert answer[key] == figures[key]
    assert answer["requests_per_week"][-1] == {
        "week": figures["requests_per_week"][-1]["week"],
        "count": 2,
    }
    assert answer["verified_to_approved"]["count"] == 1
    assert answer["rows_removed_per_version"][0]["rows_removed"] == 0
    assert answer["rows_removed_per_version"][0]["version"] == "1.0.0"
    assert "<tr><td>Verified</td><td>1</td></tr>" in page
    assert "<tr><td>Applied</td><td>1</td></tr>" in page  # the release applied it
    assert f"<td>{figures['exclusions_per_week'][-1]['active']}</td></tr>" in page
