"""The transparency figures: how many requests, how long each step takes, what releases
removed. One function gathers them; the page draws them and the API returns them as JSON.

Each figure is read from the record that is made when the thing it counts happens:
durations and the queue from the request events (the one table every transition writes,
so the page and the status page's expected times agree with what actually happened),
exclusions over time from the registry's log, rows left out from each version's release
counts (rows read minus rows published: a release drops a row exactly when an exclusion
in force at its checkpoint matches the row's repository, and for no other reason).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.db.models.functions import TruncWeek
from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.selectors import next_release_at
from optout.enums import RequestStatus
from optout.models import RemovalRequest, RequestEvent
from registry.enums import LogAction
from registry.models import LogEntry

WEEKS = 12
# Durations are taken over the requests of the last year: enough for a stable median.
DURATION_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Durations:
    count: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Figures:
    generated_at: datetime
    requests_by_state: dict[str, int]
    requests_per_week: list[tuple[str, int]]  # (Monday, ISO date), count
    verified_to_approved: Durations
    approved_to_applied: Durations
    queue_length: int  # verified, awaiting a maintainer
    queue_oldest_seconds: float | None
    next_release_at: datetime | None
    exclusions_per_week: list[tuple[str, int]]  # active at the end of each week
    rows_removed_per_version: list[dict[str, object]]

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["requests_per_week"] = [{"week": w, "count": c} for w, c in self.requests_per_week]
        data["exclusions_per_week"] = [
            {"week": w, "active": c} for w, c in self.exclusions_per_week
        ]
        return data


def duration_text(seconds: float | None) -> str:
    """``seconds`` in the unit a person would say: "under a minute", "40 min", "3 h", "5 days"."""
    if seconds is None:
        return "no data yet"
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def typical_step_times(*, now: datetime | None = None) -> tuple[Durations, Durations]:
    """(verified → approved, approved → applied) over the last year, for expected times."""
    since = (now or timezone.now()) - DURATION_WINDOW
    return (
        _durations(_step_seconds(RequestStatus.VERIFIED, RequestStatus.APPROVED, since)),
        _durations(_step_seconds(RequestStatus.APPROVED, RequestStatus.APPLIED, since)),
    )


def _durations(seconds: list[float]) -> Durations:
    if not seconds:
        return Durations(count=0, median_seconds=None, p90_seconds=None)
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return Durations(count=len(ordered), median_seconds=statistics.median(ordered), p90_seconds=p90)


def _step_seconds(from_status: str, to_status: str, since: datetime) -> list[float]:
    """For each request that reached ``to_status`` since ``since``: seconds from its first
    arrival at ``from_status`` to its first arrival at ``to_status``."""
    first: dict[tuple[int, str], datetime] = {}
    events = RequestEvent.objects.filter(
        to_status__in=[from_status, to_status], created_at__gte=since - DURATION_WINDOW
    ).values_list("request_id", "to_status", "created_at")
    for request_id, status, at in events.order_by("created_at", "id").iterator():
        first.setdefault((request_id, status), at)
    seconds = []
    for (request_id, status), reached in first.items():
        if status != to_status or reached < since:
            continue
        started = first.get((request_id, from_status))
        if started is not None and reached >= started:
            seconds.append((reached - started).total_seconds())
    return seconds


def _weeks(now: datetime) -> list[datetime]:
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def _active_exclusions_per_week(weeks: list[datetime]) -> list[tuple[str, int]]:
    """Exclusions in force at the end of each week, counted from the registry's log: every
    exclusion that starts or ends is exactly one signed entry (add or remove), written in
    the transaction that changes it, with its time."""

    def net(entries) -> int:
        counts = dict(entries.order_by().values_list("action").annotate(n=Count("index")))
        return counts.get(LogAction.ADD, 0) - counts.get(LogAction.REMOVE, 0)

    active = net(LogEntry.objects.filter(created_at__lt=weeks[0]))
    changes = {
        (row["week"].date(), row["action"]): row["n"]
        for row in LogEntry.objects.filter(created_at__gte=weeks[0])
        .order_by()
        .annotate(week=TruncWeek("created_at"))
        .values("week", "action")
        .annotate(n=Count("index"))
    }
    per_week = []
    for start in weeks:
        day = start.date()
        active += changes.get((day, LogAction.ADD), 0) - changes.get((day, LogAction.REMOVE), 0)
        per_week.append((day.isoformat(), active))
    return per_week


def transparency_figures(*, now: datetime | None = None) -> Figures:
    now = now or timezone.now()
    weeks = _weeks(now)
    by_state = dict.fromkeys(RequestStatus.values, 0)
    for row in RemovalRequest.objects.values("status").annotate(n=Count("id")):
        by_state[row["status"]] = row["n"]
    per_week = {
        row["week"].date(): row["n"]
        for row in RemovalRequest.objects.filter(created_at__gte=weeks[0])
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"))
    }
    to_approved, to_applied = typical_step_times(now=now)
    queue = RemovalRequest.objects.filter(status=RequestStatus.VERIFIED)
    oldest = (
        RequestEvent.objects.filter(request__in=queue, to_status=RequestStatus.VERIFIED)
        .aggregate(at=Min("created_at"))
        .get("at")
    )
    upcoming = [at for at in (next_release_at(d, now=now) for d in Dataset.objects.all()) if at]
    exclusions_per_week = _active_exclusions_per_week(weeks)
    versions = (
        DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("dataset")
        .order_by("published_at", "id")
    )
    return Figures(
        generated_at=now,
        requests_by_state=by_state,
        requests_per_week=[
            (start.date().isoformat(), per_week.get(start.date(), 0)) for start in weeks
        ],
        verified_to_approved=to_approved,
        approved_to_applied=to_applied,
        queue_length=queue.count(),
        queue_oldest_seconds=(now - oldest).total_seconds() if oldest else None,
        next_release_at=min(upcoming) if upcoming else None,
        exclusions_per_week=exclusions_per_week,
        rows_removed_per_version=[
            {
                "dataset": version.dataset.name,
                "version": version.version,
                "published_at": version.published_at,
                "rows_removed": version.rows_in - version.rows_out,
            }
            for version in versions
        ],
    )
