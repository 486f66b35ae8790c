"""The status page's stepper: submitted → verified → approved → applied, each with when it
happened or when it is expected (from the transparency figures of the last year)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from optout.enums import RequestStatus
from optout.models import RemovalRequest
from optout.release_schedule import NextRelease
from optout.transparency import duration_text, typical_step_times

STEPS = (
    (None, "Submitted"),
    (RequestStatus.VERIFIED, "Control proven"),
    (RequestStatus.APPROVED, "Approved"),
    (RequestStatus.APPLIED, "In a published version"),
)
ORDER = [RequestStatus.PENDING_VERIFICATION, *[status for status, _ in STEPS[1:]]]


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # done, current, upcoming, or skipped (the request ended before it)
    current: bool  # the step the request is at now (the last one, done, once applied)
    at: datetime | None  # when it was reached
    expected: str  # for an upcoming step: when, in words


def request_steps(request: RemovalRequest, *, release: NextRelease) -> list[Step]:
    reached: dict[str, datetime] = {}
    for status, at in request.events.values_list("to_status", "created_at"):
        reached.setdefault(status, at)
    ended = request.status not in ORDER
    position = ORDER.index(request.status) if not ended else -1
    to_approved, to_applied = typical_step_times()
    expected = {
        RequestStatus.VERIFIED: (
            f"when you prove control, before {request.expires_at:%Y-%m-%d %H:%M} UTC"
            if request.expires_at
            else "when you prove control"
        ),
        RequestStatus.APPROVED: _usually(
            to_approved.median_seconds, "after control is proven", "when a maintainer reviews it"
        ),
        RequestStatus.APPLIED: _usually(
            to_applied.median_seconds, "after approval", "at the next release"
        )
        + f"; next release {release.note}",
    }
    steps = []
    for index, (status, label) in enumerate(STEPS):
        at = request.created_at if status is None else reached.get(status)
        if not ended and index == position and request.status != RequestStatus.APPLIED:
            state = "current"
        elif (not ended and index <= position) or (ended and at is not None):
            state = "done"
        elif ended:
            state = "skipped"
        else:
            state = "upcoming"
        steps.append(
            Step(
                label=label,
                state=state,
                current=not ended and index == position,
                at=at if state in ("done", "current") else None,
                expected=expected.get(status, "") if state == "upcoming" else "",
            )
        )
    return steps


def _usually(seconds: float | None, after: str, otherwise: str) -> str:
    """ "usually 3 h after approval", or ``otherwise`` before any request took that step."""
    return otherwise if seconds is None else f"usually {duration_text(seconds)} {after}"
