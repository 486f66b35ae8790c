"""Every write to removal requests.

``request_transition`` is the only function that changes a request's status. Pages, the
API, admin actions, commands and tasks all call it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from optout.enums import ALLOWED_TRANSITIONS, EXCLUDING_STATUSES, RequestStatus
from optout.models import RemovalRequest, RequestEvent, RequestSubject
from registry import services as registry_services
from registry.identifiers import Identifier, IdentifierError, parse_identifier
from registry.selectors import log_size

MAX_SUBJECTS_PER_REQUEST = 1000


class TransitionError(Exception):
    """The requested status change is not allowed from the current status."""


@dataclass
class SubmissionResult:
    request: RemovalRequest | None
    status_token: str | None
    subjects: list[Identifier] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # line number (1-based) → message


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_submit(*, lines: list[str], contact_email: str, reason: str = "") -> SubmissionResult:
    """Parse every line and create the request only if all of them are valid."""
    subjects: list[Identifier] = []
    errors: dict[int, str] = {}
    seen: set[str] = set()
    meaningful = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not meaningful:
        return SubmissionResult(None, None, errors={0: "Enter at least one repository."})
    if len(meaningful) > MAX_SUBJECTS_PER_REQUEST:
        return SubmissionResult(
            None,
            None,
            errors={0: f"At most {MAX_SUBJECTS_PER_REQUEST} lines per request; split the list."},
        )
    for number, line in meaningful:
        try:
            identifier = parse_identifier(line)
        except IdentifierError as exc:
            errors[number] = str(exc)
            continue
        if identifier.canonical not in seen:
            seen.add(identifier.canonical)
            subjects.append(identifier)
    if errors:
        return SubmissionResult(None, None, subjects=subjects, errors=errors)

    status_token = secrets.token_urlsafe(32)
    with transaction.atomic():
        request = RemovalRequest.objects.create(
            contact_email=contact_email,
            reason=reason,
            status_token_hash=hash_token(status_token),
            verification_token=secrets.token_hex(16),
        )
        RequestSubject.objects.bulk_create(
            RequestSubject(request=request, kind=s.kind, subject=s.canonical) for s in subjects
        )
        _record_event(request, from_status="", to_status=request.status, actor=None, reason="")
    return SubmissionResult(request, status_token, subjects=subjects)


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
                registry_services.exclusion_remove(
                    kind=subject.kind,
                    subject=subject.subject,
                    cause=request.cause,
                    reason=reason or "withdrawn by the owner",
                    only_if_caused_by=request.cause,
                )
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


def requests_mark_applied(*, up_to_log_size: int, version_label: str) -> int:
    """Approved requests whose exclusions a published version applied become ``applied``."""
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
            reason=f"applied in dataset version {version_label}",
        )
    return len(ids)


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

    transaction.on_commit(lambda: notify_event.delay(event_id=event.id))
    return event
