"""When the next dataset release is expected, for the owner's status page.

Reads governance only through its selector ``governance.selectors.next_release_at`` (from
the releases work). Where that selector is absent, or no dataset has a release cadence,
the answer is "when maintainers run one".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from governance.models import Dataset

UNSCHEDULED = "when maintainers run one"


@dataclass(frozen=True)
class NextRelease:
    at: datetime | None
    note: str


def expected_next_release(*, now: datetime | None = None) -> NextRelease:
    try:
        selectors = importlib.import_module("governance.selectors")
    except ImportError:  # the releases selectors are not on this branch yet
        return NextRelease(None, UNSCHEDULED)
    next_release_at = getattr(selectors, "next_release_at", None)
    if next_release_at is None:
        return NextRelease(None, UNSCHEDULED)
    now = now or timezone.now()
    dates = [at for dataset in Dataset.objects.all() if (at := next_release_at(dataset, now=now))]
    if not dates:
        return NextRelease(None, UNSCHEDULED)
    soonest = min(dates)
    return NextRelease(soonest, f"expected from {soonest:%Y-%m-%d %H:%M} UTC")
