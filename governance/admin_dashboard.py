"""What the admin index shows above the models: the queue and the releases.

The project package reads across the apps here, as its URLs do; each part is shown only
to those who may open the pages it links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Max, Q

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.selectors import next_release_at, published_versions, release_progress
from optout.enums import OPEN_STATUSES, RequestStatus
from optout.models import RemovalRequest


@dataclass(frozen=True)
class Queue:
    awaiting_review: int
    oldest_waiting: RemovalRequest | None  # the verified request verified longest ago
    oldest_waiting_since: datetime | None
    pending_verification: int
    approved_awaiting_release: int


@dataclass(frozen=True)
class DatasetReleases:
    dataset: Dataset
    last: DatasetVersion | None  # the latest published version
    running: DatasetVersion | None
    progress: dict[str, object] | None  # of the running release
    failed: DatasetVersion | None  # the latest release, if it failed
    next_at: datetime | None


def queue_summary() -> Queue:
    verified = RemovalRequest.objects.filter(status=RequestStatus.VERIFIED)
    oldest = (
        verified.annotate(
            verified_at=Max(
                "events__created_at", filter=Q(events__to_status=RequestStatus.VERIFIED)
            )
        )
        .order_by("verified_at", "id")
        .first()
    )
    counts = dict(
        RemovalRequest.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return Queue(
        awaiting_review=counts.get(RequestStatus.VERIFIED, 0),
        oldest_waiting=oldest,
        oldest_waiting_since=oldest.verified_at if oldest else None,
        pending_verification=counts.get(RequestStatus.PENDING_VERIFICATION, 0),
        approved_awaiting_release=counts.get(RequestStatus.APPROVED, 0),
    )


def releases_summary() -> list[DatasetReleases]:
    lines = []
    for dataset in Dataset.objects.order_by("name"):
        latest = DatasetVersion.objects.filter(dataset=dataset).order_by("-created_at", "-id")
        running = latest.filter(status=VersionStatus.BUILDING).first()
        newest = latest.first()
        lines.append(
            DatasetReleases(
                dataset=dataset,
                last=published_versions(dataset).first(),
                running=running,
                progress=release_progress(running) if running else None,
                failed=newest if newest and newest.status == VersionStatus.FAILED else None,
                next_at=next_release_at(dataset),
            )
        )
    return lines


def dashboard(user: AbstractBaseUser) -> dict[str, object]:
    board: dict[str, object] = {}
    if user.has_perm("optout.view_removalrequest"):
        board["queue"] = queue_summary()
    if user.has_perm("governance.view_dataset"):
        board["releases"] = releases_summary()
    return board
