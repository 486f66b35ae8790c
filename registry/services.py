"""Every write to the registry goes through these functions.

Callers run them inside their own transaction (for example the request state machine),
so a request's approval and its exclusion commit together or not at all.
"""

from __future__ import annotations

from django.db import transaction

from registry.enums import ExclusionKind, LogAction
from registry.models import Exclusion, LogEntry, LogHead


class RegistryError(Exception):
    """A registry write that cannot be done as asked, with a message for people."""


def _log_append(*, action: str, kind: str, subject: str, cause: str) -> LogEntry:
    head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
    entry = LogEntry.objects.create(
        index=head.size, action=action, kind=kind, subject=subject, cause=cause
    )
    head.size += 1
    head.save(update_fields=["size"])
    return entry


@transaction.atomic
def exclusion_add(*, kind: ExclusionKind | str, subject: str, cause: str) -> Exclusion:
    """Exclude ``subject``. Idempotent: an already active exclusion is returned as is."""
    kind = ExclusionKind(kind)
    LogHead.objects.select_for_update().get_or_create(id=1)  # serialise with other writers
    existing = Exclusion.objects.filter(kind=kind, subject=subject, active=True).first()
    if existing is not None:
        return existing
    exclusion = Exclusion.objects.create(kind=kind, subject=subject, cause=cause)
    _log_append(action=LogAction.ADD, kind=kind, subject=subject, cause=cause)
    return exclusion


@transaction.atomic
def exclusion_remove(
    *,
    kind: ExclusionKind | str,
    subject: str,
    cause: str,
    reason: str,
    only_if_caused_by: str | None = None,
) -> Exclusion | None:
    """Remove the active exclusion of ``subject`` (the code comes back in the next version).

    ``only_if_caused_by`` leaves alone an exclusion that something else caused: when an
    owner withdraws a request, another request's exclusion of the same subject stays.
    Returns the removed exclusion, or ``None`` when nothing was removed (idempotent).
    """
    kind = ExclusionKind(kind)
    LogHead.objects.select_for_update().get_or_create(id=1)
    exclusion = (
        Exclusion.objects.select_for_update()
        .filter(kind=kind, subject=subject, active=True)
        .first()
    )
    if exclusion is None:
        return None
    if only_if_caused_by is not None and exclusion.cause != only_if_caused_by:
        return None
    exclusion.active = False
    exclusion.removed_reason = reason
    exclusion.save(update_fields=["active", "removed_reason", "updated_at"])
    _log_append(action=LogAction.REMOVE, kind=kind, subject=subject, cause=cause)
    return exclusion
