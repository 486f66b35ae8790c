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
from registry.log import log_append, log_append_many
from registry.models import Exclusion, LogEntry, LogHead
from registry.signals import exclusion_revoked

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


@transaction.atomic
def exclusion_revoke(*, exclusion_id: int, actor: str, reason: str) -> Exclusion | None:
    """A maintainer ends an exclusion: a signed log entry whose cause names them, and
    ``exclusion_revoked`` sent in the same transaction (the owner is told; registry/signals.py).

    The reason is required (owners read it); returns ``None`` if it was no longer active.
    """
    reason = reason.strip()
    if not reason:
        raise RegistryError("Give a reason for revoking the exclusion; its owner reads it.")
    exclusion = Exclusion.objects.get(id=exclusion_id)
    removed = exclusion_remove(
        kind=exclusion.kind,
        subject=exclusion.subject,
        cause=f"maintainer:{actor}",
        reason=reason,
        only_if_caused_by=exclusion.cause,
    )
    if removed is not None:
        exclusion_revoked.send(sender=Exclusion, exclusion=removed, actor=actor, reason=reason)
    return removed


@transaction.atomic
def exclusion_add_many(
    *, subjects: list[tuple[ExclusionKind | str, str]], cause: str, batch: int = 5_000
) -> int:
    """Exclude many ``(kind, subject)`` at once (imports, benchmarks): bulk inserts, one
    checkpoint at the end. Subjects already excluded, or repeated, are skipped. Returns the
    number of exclusions added. Leaves and tree are exactly those of one-by-one appends."""
    wanted = list(dict.fromkeys((ExclusionKind(kind), subject) for kind, subject in subjects))
    for _, subject in wanted:
        _check_text(subject=subject, cause=cause)
    _check_text(cause=cause)
    head = _lock_head()
    active = set()
    for start in range(0, len(wanted), batch):
        part = [subject for _, subject in wanted[start : start + batch]]
        active.update(
            Exclusion.objects.filter(subject__in=part, active=True).values_list("kind", "subject")
        )
    fresh = [(kind, subject) for kind, subject in wanted if (kind, subject) not in active]
    if not fresh:
        return 0
    first = head.size
    Exclusion.objects.bulk_create(
        [
            Exclusion(kind=kind, subject=subject, cause=cause, added_at_index=first + i)
            for i, (kind, subject) in enumerate(fresh)
        ],
        batch_size=batch,
    )
    log_append_many(
        head=head,
        rows=[(LogAction.ADD, kind, subject, cause) for kind, subject in fresh],
        at=timezone.now(),
        batch=batch,
    )
    checkpoint_publish(size=head.size)
    return len(fresh)
