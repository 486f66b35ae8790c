"""Checkpoints: the log's size and Merkle root, signed as a C2SP signed note.

Formats followed:
- leaves and nodes hashed as RFC 6962 / RFC 9162 (``registry.merkle``);
- the checkpoint body is C2SP tlog-checkpoint (origin, size, base64 root, each on a line);
- the signature line is C2SP signed-note with an Ed25519 key (``registry.notes``).

Roots come from stored subtree hashes: O(log n) node reads, whatever the log's size.
Every signed size is stored once as a ``SignedCheckpoint`` row; the API publishes the
newest. ``LOG_CHECKPOINT_INTERVAL`` (seconds) batches them: 0 signs after every change,
N signs at most every N seconds on append, and ``registry.tasks.checkpoint_publish`` (a
periodic task) signs what is left once the interval has passed. Each stored checkpoint queues
``registry.tasks.exports_precompute`` after commit (docs/registry.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from registry import log, notes
from registry.models import SignedCheckpoint
from registry.selectors import log_size
from registry.signing import load_signing_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root_hash: bytes
    note: str  # the whole signed note, text and signature lines

    @property
    def root_hash_b64(self) -> str:
        return base64.b64encode(self.root_hash).decode()


def verifier_key() -> str:
    """The verifier key in C2SP's text form: ``name+hexkeyid+base64(0x01‖key)``."""
    return str(notes.verifier_key_for(settings.LOG_NAME, load_signing_key()))


def sign_checkpoint(size: int, root_hash: bytes) -> str:
    text = notes.checkpoint_text(settings.LOG_NAME, size, root_hash)
    return notes.sign_note(text, settings.LOG_NAME, load_signing_key())


def _from_row(row: SignedCheckpoint) -> Checkpoint:
    return Checkpoint(size=row.size, root_hash=bytes(row.root_hash), note=row.note)


def _store(size: int, *, current: int) -> Checkpoint:
    root = log.root_at(size, current=current)
    note = sign_checkpoint(size, root)
    try:
        with transaction.atomic():  # a savepoint: a concurrent signer may win the race
            row = SignedCheckpoint.objects.create(size=size, root_hash=root, note=note)
    except IntegrityError:
        return _from_row(SignedCheckpoint.objects.get(size=size))
    # Neither raises: see registry.dispatch.
    transaction.on_commit(lambda: _queue_exports(size))
    transaction.on_commit(lambda: _queue_mirror(size))
    return _from_row(row)


def _queue_exports(size: int) -> None:
    from registry.dispatch import queue

    # Imported here: the tasks module imports this one.
    from registry.tasks import exports_precompute

    queue(exports_precompute, size=size)


def _queue_mirror(size: int) -> None:
    """Tiles and range files of the new checkpoint (``registry.mirror_tasks``). A failure
    to queue never reaches the committed change: the periodic catch-up publishes it."""
    from registry.dispatch import queue
    from registry.mirror_tasks import mirror_publish

    queue(mirror_publish, size=size)


def checkpoint_signed(size: int) -> Checkpoint | None:
    """The checkpoint already signed for ``size``, if the log published one."""
    row = SignedCheckpoint.objects.filter(size=size).first()
    return _from_row(row) if row is not None else None


def checkpoint_at(size: int) -> Checkpoint:
    """The signed checkpoint of the log's first ``size`` entries (signed now if need be)."""
    signed = checkpoint_signed(size)
    if signed is not None:
        return signed
    current = log_size()
    if size > current:
        raise ValueError(f"The log has {current} entries, fewer than {size}.")
    return _store(size, current=current)


def checkpoint_head() -> tuple[int, bytes] | None:
    """``(size, root hash)`` of the newest published checkpoint, without its note.

    One raw query over the unique index on ``size``: enough for the export's ETag, so a
    304 costs no ORM query building and no note transfer (docs/api.md, "Performance").
    """
    table = connection.ops.quote_name(SignedCheckpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT size, root_hash FROM {table} ORDER BY size DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def checkpoint_latest() -> Checkpoint:
    """The newest published checkpoint (the one the API serves).

    With ``LOG_CHECKPOINT_INTERVAL`` above 0 it may lag the log by that many seconds;
    the log's first checkpoint is made on demand.
    """
    row = SignedCheckpoint.objects.order_by("-size").first()
    if row is not None:
        return _from_row(row)
    return checkpoint_at(log_size())


def checkpoint_publish(*, size: int, force: bool = False) -> Checkpoint | None:
    """Sign ``size`` unless the interval since the last checkpoint has not passed.

    Called by ``registry.services`` after each append (inside its transaction, with the
    log head locked) and by the periodic task. Returns the new checkpoint, if any.
    """
    latest = SignedCheckpoint.objects.order_by("-size").first()
    if latest is not None and latest.size >= size:
        return None
    interval = dt.timedelta(seconds=settings.LOG_CHECKPOINT_INTERVAL)
    if not force and latest is not None and timezone.now() - latest.created_at < interval:
        return None
    return _store(size, current=log_size())
