"""Every write to the registry goes through these functions.

Callers run them inside their own transaction (for example the request state machine),
so a request's approval and its exclusion commit together or not at all.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from registry.checkpoints import checkpoint_publish
from registry.enums import ExclusionKind, LogAction
from registry.log import log_append
from registry.models import Exclusion, LogEntry, LogHead

# Leaves are tab-separated lines: a subject or cause may hold no tab, newline or control.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class RegistryError(Exception):
    """A registry write that cannot be done as asked, with a message for people."""


def _lock_head() -> LogHead:
    """Lock the log head: it serialises every writer, so indexes stay gap-free."""
    head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
    return head


def _check_text(**values: str) -> None:
    for name, value in values.items():
        if not value or _UNSAFE.search(value):
            raise RegistryError(
                f"The {name} {value!r} must be non-empty and hold no tab, newline or "
                "control character."
            )


def _log_append(*, head: LogHead, action: str, kind: str, subject: str, cause: str) -> LogEntry:
    entry = log_append(
        head=head, action=action, kind=kind, subject=subject, cause=cause, at=timezone.now()
    )
    checkpoint_publish(size=head.size)  # same transaction: signed with the entry or not at all
    return entry


@transaction.atomic
def exclusion_add(*, kind: ExclusionKind | str, subject: str, cause: str) -> Exclusion:
    """Exclude ``subject``. Idempotent: an already active exclusion is returned as is."""
    kind = ExclusionKind(kind)
    _check_text(subject=subject, cause=cause)
    head = _lock_head()
    existing = Exclusion.objects.filter(kind=kind, subject=subject, active=True).first()
    if existing is not None:
        return existing
    exclusion = Exclusion.objects.create(
        kind=kind, subject=subject, cause=cause, added_at_index=head.size
    )
    _log_append(head=head, action=LogAction.ADD, kind=kind, subject=subject, cause=cause)
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
    _check_text(subject=subject, cause=cause)
    head = _lock_head()
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
    exclusion.removed_at_index = head.size
    exclusion.save(update_fields=["active", "removed_reason", "removed_at_index", "updated_at"])
    _log_append(head=head, action=LogAction.REMOVE, kind=kind, subject=subject, cause=cause)
    return exclusion
