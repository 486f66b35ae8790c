"""The database refuses every change to the registry's history that skips its services."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from registry.models import Exclusion, LogEntry, SignedCheckpoint
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_remove, exclusion_revoke

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the guards are PostgreSQL's"),
]


def _seed() -> Exclusion:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_remove(kind="namespace", subject="github.com/org", cause="c:2", reason="owner")
    return Exclusion.objects.get(subject="github.com/a/b")


WRITES: dict[str, Callable[[Exclusion], object]] = {
    "delete an exclusion": lambda e: Exclusion.objects.filter(id=e.id).delete(),
    "delete every exclusion": lambda e: Exclusion.objects.all().delete(),
    "deactivate without a log entry": lambda e: Exclusion.objects.filter(id=e.id).update(
        active=False, removed_reason="quietly"
    ),
    "deactivate pointing at an add entry": lambda e: Exclusion.objects.filter(id=e.id).update(
        active=False, removed_at_index=e.added_at_index
    ),
    "rename the subject": lambda e: Exclusion.objects.filter(id=e.id).update(subject="x/y/z"),
    "change the cause": lambda e: Exclusion.objects.filter(id=e.id).update(cause="other"),
    "reactivate a removed one": lambda e: Exclusion.objects.filter(active=False).update(
        active=True
    ),
    "insert without a log entry": lambda e: Exclusion.objects.create(
        kind="repository", subject="github.com/c/d", cause="c:9", added_at_index=log_size()
    ),
    "bulk insert borrowing an entry": lambda e: Exclusion.objects.bulk_create(
        [Exclusion(kind="repository", subject="github.com/e/f", cause="c", added_at_index=0)]
    ),
    "edit a log entry": lambda e: LogEntry.objects.filter(index=0).update(cause="other"),
    "renumber the log": lambda e: LogEntry.objects.update(index=F("index") + 100),
    "delete a log entry": lambda e: LogEntry.objects.filter(index=2).delete(),
    "edit a checkpoint": lambda e: SignedCheckpoint.objects.update(note="forged"),
    "delete a checkpoint": lambda e: SignedCheckpoint.objects.all().delete(),
}


@pytest.mark.parametrize("write", WRITES)
def test_the_database_refuses_a_write_that_skips_the_services(write: str) -> None:
    exclusion = _seed()
    before = (
        list(Exclusion.objects.order_by("id").values_list()),
        list(LogEntry.objects.values_list()),
        list(SignedCheckpoint.objects.values_list("size", "note")),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WRITES[write](exclusion)
    after = (
        list(Exclusion.objects.order_by("id").values_list()),
        list(LogEntry.objects.values_list()),
        list(SignedCheckpoint.objects.values_list("size", "note")),
    )
    assert after == before


def test_the_services_pass_the_guards() -> None:
    exclusion = _seed()
    removed = exclusion_revoke(exclusion_id=exclusion.id, actor="maint", reason="forged proof")
    again = exclusion_add(kind="repository", subject="github.com/a/b", cause="c:3")
    assert (removed.active, again.active, log_size()) == (False, True, 5)
    assert Exclusion.objects.filter(subject="github.com/a/b").count() == 2
