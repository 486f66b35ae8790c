"""Every write to removal requests.

``request_transition`` is the only function that changes a request's status. Pages, the
API, admin actions, commands and tasks all call it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from optout.enums import ALLOWED_TRANSITIONS, EXCLUDING_STATUSES, LineOutcome, RequestStatus
from optout.links import status_token_for
from optout.models import RemovalRequest, RequestEvent, RequestSubject
from optout.selectors import active_exclusions_covering
from optout.tokens import hash_token, new_verification_token
from registry import services as registry_services
from registry.dispatch import queue_after_commit
from registry.enums import ExclusionKind
from registry.identifiers import Identifier, IdentifierError, parse_identifier
from registry.models import Exclusion
from registry.selectors import log_size

MAX_SUBJECTS_PER_REQUEST = 1000


class TransitionError(Exception):
    """The requested status change is not allowed from the current status."""


@dataclass(frozen=True)
class LineResult:
    """What became of one submitted line: its canonical form, or why it was not taken."""

    number: int  # 1-based, counting blank lines too, as the person sees their text
    text: str
    outcome: LineOutcome
    message: str
    identifier: Identifier | None = None


@dataclass
class SubmissionResult:
    request: RemovalRequest | None
    status_token: str | None
    lines: list[LineResult] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # line number (0: whole form) → message


def _classify_lines(lines: list[str]) -> list[LineResult]:
    # Other people's requests play no part here, not even those sent to the same address:
    # whoever typed the address could be someone else, and "already requested" would tell
    # them that its owner has a request open. The owner learns it from the e-mail instead.
    parsed: list[tuple[int, str, Identifier | str]] = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            parsed.append((number, text, parse_identifier(text)))
        except IdentifierError as exc:
            parsed.append((number, text, str(exc)))
    identifiers = [item for _, _, item in parsed if isinstance(item, Identifier)]
    covered = active_exclusions_covering(identifiers)
    results: list[LineResult] = []
    first_line_of: dict[str, int] = {}
    for number, text, item in parsed:
        if isinstance(item, str):
            results.append(LineResult(number, text, LineOutcome.INVALID, item))
            continue
        canonical = item.canonical
        if canonical in first_line_of:
            outcome = LineOutcome.DUPLICATE
            message = f"Same as line {first_line_of[canonical]} ({canonical}); counted once."
        elif canonical in covered:
            outcome = LineOutcome.ALREADY_EXCLUDED
            message = f"{canonical} is already excluded (by {covered[canonical]}); nothing to do."
        else:
            kind = "repository" if item.kind == ExclusionKind.REPOSITORY else "namespace"
            outcome, message = LineOutcome.ACCEPTED, f"{canonical} ({kind})"
        first_line_of.setdefault(canonical, number)
        results.append(LineResult(number, text, outcome, message, item))
    return results


def request_submit(
    *, lines: list[str], contact_email: str, reason: str = "", actor_label: str = ""
) -> SubmissionResult:
    """Parse every line and create the request only if all of them are valid.

    Lines that repeat another or name something already excluded (the registry is
    public) are reported and left out; the rest form the request, whether or not other
    open requests name them, so the answer says nothing about other requests (the
    e-mail to the contact address does: see ``send_event_email``). Nothing is written
    when any line is invalid, so a fix-and-resubmit never leaves a half request behind.
    """
    meaningful = [line for line in lines if line.strip()]
    if not meaningful:
        return SubmissionResult(
            None, None, errors={0: "Enter at least one repository or namespace, one per line."}
        )
    if len(meaningful) > MAX_SUBJECTS_PER_REQUEST:
        return SubmissionResult(
            None,
            None,
            errors={
                0: f"{len(meaningful)} lines is more than the {MAX_SUBJECTS_PER_REQUEST} a "
                "request may hold; split the list into several requests."
            },
        )
    results = _classify_lines(lines)
    errors = {r.number: r.message for r in results if r.outcome == LineOutcome.INVALID}
    if errors:
        return SubmissionResult(None, None, lines=results, errors=errors)
    accepted = [r.identifier for r in results if r.outcome == LineOutcome.ACCEPTED]
    if not accepted:
        return SubmissionResult(None, None, lines=results)

    public_id = uuid.uuid4()
    status_token = status_token_for(public_id)
    with transaction.atomic():
        request = RemovalRequest.objects.create(
            public_id=public_id,
            contact_email=contact_email,
            reason=reason,
            status_token_hash=hash_token(status_token),
            verification_token=new_verification_token(),
            expires_at=timezone.now() + timedelta(days=settings.OPTOUT_TOKEN_TTL_DAYS),
        )
        RequestSubject.objects.bulk_create(
            RequestSubject(request=request, kind=s.kind, subject=s.canonical)
            for s in accepted
            if s is not None
        )
        _record_event(
            request,
            from_status="",
            to_status=request.status,
            actor=None,
            actor_label=actor_label,
            reason="",
        )
    return SubmissionResult(request, status_token, lines=results)


def request_transition(
    *,
    request_id: int,
    to_status: RequestStatus | str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    reason: str = "",
) -> RemovalRequest:
    """Move a request to ``to_status``, writing the registry in the same transaction.

    The exclusions are written inside the transaction rather than after it: an approval
    that commits without its exclusions (or the reverse) is the one outcome we can't have.
    E-mail goes out only after commit.
    """
    to_status = RequestStatus(to_status)
    with transaction.atomic():
        request = RemovalRequest.objects.select_for_update().get(id=request_id)
        from_status = request.status
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise TransitionError(
                f"A request that is {request.get_status_display().lower()} cannot become "
                f"{to_status.label.lower()}."
            )
        update_fields = ["status", "updated_at"]
        if to_status == RequestStatus.APPROVED:
            for subject in request.subjects.all():
                registry_services.exclusion_add(
                    kind=subject.kind, subject=subject.subject, cause=request.cause
                )
            request.applied_from_log_size = log_size()
            update_fields.append("applied_from_log_size")
        elif to_status == RequestStatus.WITHDRAWN and from_status in EXCLUDING_STATUSES:
            for subject in request.subjects.all():
                removed = registry_services.exclusion_remove(
                    kind=subject.kind,
                    subject=subject.subject,
                    cause=request.cause,
                    reason=reason or "withdrawn by the owner",
                    only_if_caused_by=request.cause,
                )
                if removed is not None:
                    _hand_over_exclusion(request, kind=subject.kind, subject=subject.subject)
        request.status = to_status
        request.save(update_fields=update_fields)
        _record_event(
            request,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            actor_label=actor_label,
            reason=reason,
        )
        if to_status == RequestStatus.VERIFIED and settings.OPTOUT_AUTO_APPROVE:
            return request_transition(
                request_id=request.id,
                to_status=RequestStatus.APPROVED,
                actor_label="system",
                reason="approved automatically (OPTOUT_AUTO_APPROVE)",
            )
    return request


def _hand_over_exclusion(withdrawn: RemovalRequest, *, kind: str, subject: str) -> None:
    """Another approved or applied request naming ``subject`` relied on the exclusion the
    withdrawn request caused (its own approval found it there): the subject stays excluded,
    now for that request, the oldest first. The log says both: removed, added again."""
    heir = (
        RemovalRequest.objects.filter(
            status__in=EXCLUDING_STATUSES, subjects__kind=kind, subjects__subject=subject
        )
        .exclude(id=withdrawn.id)
        .order_by("created_at", "id")
        .first()
    )
    if heir is not None:
        registry_services.exclusion_add(kind=kind, subject=subject, cause=heir.cause)


def requests_mark_applied(
    *, up_to_log_size: int, version_label: str, manifest_sha256: str = ""
) -> int:
    """Approved requests whose exclusions a published version applied become ``applied``.

    The reason names the version and its manifest checksum, so the owner's e-mail says
    exactly which files to check.
    """
    reason = f"applied in dataset version {version_label}"
    if manifest_sha256:
        reason += f" (manifest.json SHA-256 {manifest_sha256})"
    ids = list(
        RemovalRequest.objects.filter(
            status=RequestStatus.APPROVED, applied_from_log_size__lte=up_to_log_size
        ).values_list("id", flat=True)
    )
    for request_id in ids:
        request_transition(
            request_id=request_id,
            to_status=RequestStatus.APPLIED,
            actor_label="system",
            reason=reason,
        )
    return len(ids)


def requests_exclusion_revoked(*, kind: str, subject: str, actor_label: str, reason: str) -> int:
    """A maintainer revoked the registry's exclusion of ``subject``: every approved or
    applied request naming it is told why, in the revoking transaction (the e-mail goes
    out after commit, or from the sweeper). A request left with nothing excluded ends,
    withdrawn by the maintainer with their reason, as a Revoke on its page does; one whose
    other subjects stay excluded keeps its status and gets an event naming the subject.
    Returns the number of requests told."""
    ids = list(
        RemovalRequest.objects.filter(
            status__in=EXCLUDING_STATUSES, subjects__kind=kind, subjects__subject=subject
        )
        .values_list("id", flat=True)
        .distinct()
    )
    for request_id in ids:
        with transaction.atomic():
            request = RemovalRequest.objects.select_for_update().get(id=request_id)
            still_excluded = any(
                Exclusion.objects.filter(kind=s.kind, subject=s.subject, active=True).exists()
                for s in request.subjects.all()
            )
            if not still_excluded:
                request_transition(
                    request_id=request_id,
                    to_status=RequestStatus.WITHDRAWN,
                    actor_label=actor_label,
                    reason=reason,
                )
                continue
            _record_event(
                request,
                from_status=request.status,
                to_status=request.status,
                actor=None,
                actor_label=actor_label,
                reason=f"The exclusion of {subject} was revoked: {reason}",
            )
    return len(ids)


def requests_expire_unverified(*, now: datetime | None = None) -> int:
    """Requests still unverified past their expiry become ``expired``. Safe to run twice."""
    now = now or timezone.now()
    ids = list(
        RemovalRequest.objects.filter(
            status=RequestStatus.PENDING_VERIFICATION, expires_at__lt=now
        ).values_list("id", flat=True)
    )
    expired = 0
    for request_id in ids:
        try:
            request_transition(
                request_id=request_id,
                to_status=RequestStatus.EXPIRED,
                actor_label="system",
                reason=f"not verified within {settings.OPTOUT_TOKEN_TTL_DAYS} days",
            )
            expired += 1
        except TransitionError:
            continue  # verified or withdrawn meanwhile: nothing to do
    return expired


def _record_event(
    request: RemovalRequest,
    *,
    from_status: str,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str,
    actor_label: str = "",
) -> RequestEvent:
    label = actor_label or (actor.get_username() if actor else "owner")
    event = RequestEvent.objects.create(
        request=request,
        actor=actor,
        actor_label=label,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
    )
    from optout.tasks import notify_event  # tasks import services; import here to avoid a cycle

    queue_after_commit(notify_event, event_id=event.id)
    return event
