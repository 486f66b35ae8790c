"""When the next dataset release is expected, for the owner's status page.

Reads governance only through its selector ``governance.selectors.next_release_at``.
Where no dataset has a release cadence, the answer is "when maintainers run one".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from governance.models import Dataset
from governance.selectors import next_release_at

UNSCHEDULED = "when maintainers run one"


@dataclass(frozen=True)
class NextRelease:
    at: datetime | None
    note: str


def expected_next_release(*, now: datetime | None = None) -> NextRelease:
    now = now or timezone.now()
    dates = [at for dataset in Dataset.objects.all() if (at := next_release_at(dataset, now=now))]
    if not dates:
        return NextRelease(None, UNSCHEDULED)
    soonest = min(dates)
    return NextRelease(soonest, f"expected from {soonest:%Y-%m-%d %H:%M} UTC")
