"""Downstream users, their keys and their receipts: every write, and the reads the pages
and the API need (docs/mirroring.md, "Receipts").

A receipt is refused unless it is signed by a live key of the downstream user it names,
arrives with that user's pipeline token, and names a checkpoint (size and root) this
portal signed. Accepted receipts are appended to the receipts log, whose tree is stored
like the registry's log (``ReceiptNode``, ``ReceiptLogHead``), so its root and inclusion
proofs are O(log n) reads; its checkpoint is signed by the log's key under the origin
``<LOG_NAME>/receipts``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from registry import merkle, notes
from registry import receipts_format as fmt
from registry.log import BeyondTheLog
from registry.models import (
    DownstreamKey,
    DownstreamUser,
    PipelineToken,
    Receipt,
    ReceiptLogHead,
    ReceiptNode,
    SignedCheckpoint,
)
from registry.selectors import log_size
from registry.signing import load_signing_key


class ReceiptRefused(Exception):
    """A receipt or registration that cannot be accepted; the message says why and how to
    fix it. ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str = "receipt", code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


# --- registration (maintainers, through the admin) ------------------------------------------


def downstream_user_check(*, name: str) -> None:
    """Raise ``ReceiptRefused`` unless ``name`` can name a new downstream user."""
    if not fmt.USER_NAME.match(name):
        raise ReceiptRefused(
            "A downstream user's name is lowercase letters, digits, '-' and '_' (e.g. 'acme-llm').",
            field="name",
        )
    if DownstreamUser.objects.filter(name=name).exists():
        raise ReceiptRefused(f"A downstream user named {name!r} exists already.", field="name")


def downstream_user_register(
    *, name: str, token: PipelineToken, description: str = ""
) -> DownstreamUser:
    downstream_user_check(name=name)
    return DownstreamUser.objects.create(name=name, token=token, description=description)


def downstream_key_check(*, verifier_key: str) -> notes.VerifierKey:
    """The parsed key, or ``ReceiptRefused`` saying why it cannot be registered."""
    try:
        key = notes.parse_verifier_key(verifier_key)
    except notes.NoteError as exc:
        raise ReceiptRefused(
            f"{exc} Paste the line `python -m registry.client keygen` printed.",
            field="verifier_key",
        ) from None
    if DownstreamKey.objects.filter(key_name=key.name, revoked_at__isnull=True).exists():
        raise ReceiptRefused(
            f"A live key named {key.name!r} is registered already; revoke it first.",
            field="verifier_key",
        )
    return key


def downstream_key_add(*, user: DownstreamUser, verifier_key: str) -> DownstreamKey:
    key = downstream_key_check(verifier_key=verifier_key)
    return DownstreamKey.objects.create(user=user, verifier_key=str(key), key_name=key.name)


def downstream_key_revoke(*, key_id: int) -> DownstreamKey:
    """Revoke a key: receipts it signed stay in the log; new ones are refused."""
    with transaction.atomic():
        key = DownstreamKey.objects.select_for_update().get(id=key_id)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
    return key


# --- receipts ----------------------------------------------------------------------------------


def _signer(note: str) -> DownstreamKey:
    _, _, signatures = note.rpartition("\n\n")
    name = signatures.removeprefix(notes.SIGNATURE_PREFIX).partition(" ")[0]
    key = (
        DownstreamKey.objects.select_related("user")
        .filter(key_name=name, revoked_at__isnull=True)
        .first()
    )
    if key is None:
        raise ReceiptRefused(
            f"The receipt is signed by {name[:100]!r}, which is not a registered live key. "
            "Ask the portal's maintainers to register it.",
            code="permission_denied",
        )
    return key


def receipt_submit(*, note: str, token: PipelineToken) -> Receipt:
    """Verify and log one receipt (see the module's docstring for what is refused)."""
    if len(note) > 4096:
        raise ReceiptRefused("A receipt is a few hundred bytes; this one is over 4 KiB.")
    key = _signer(note)
    try:
        text = notes.verify_note(note, notes.parse_verifier_key(key.verifier_key))
        body = fmt.parse_receipt(text, origin=settings.LOG_NAME)
    except (notes.NoteError, fmt.ReceiptError) as exc:
        raise ReceiptRefused(f"The receipt does not verify: {exc}") from None
    if body.user != key.user.name:
        raise ReceiptRefused(
            f"The receipt names {body.user!r}, but its key belongs to {key.user.name!r}.",
            code="permission_denied",
        )
    if key.user.token_id != token.pk:
        raise ReceiptRefused(
            f"Post {key.user.name!r}'s receipts with its own pipeline token.",
            code="permission_denied",
        )
    signed = SignedCheckpoint.objects.filter(size=body.size).first()
    if signed is None or bytes(signed.root_hash) != body.root:
        raise ReceiptRefused(
            f"This portal never signed a checkpoint of size {body.size} with that root: "
            "acknowledge a checkpoint you synced and verified."
        )
    return _append(key=key, body=body, note=note)


@transaction.atomic
def _append(*, key: DownstreamKey, body: fmt.ReceiptBody, note: str) -> Receipt:
    head, _ = ReceiptLogHead.objects.select_for_update().get_or_create(id=1)
    index, now = head.size, timezone.now()
    leaf = f"{index}\n{now.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n{note}"
    receipt = Receipt.objects.create(
        index=index,
        user=key.user,
        key=key,
        dataset=body.dataset,
        manifest_sha256=body.manifest_sha256,
        checkpoint_size=body.size,
        checkpoint_root=body.root,
        applied_at=body.applied_at,
        received_at=now,
        note=note,
        leaf=leaf,
    )
    frontier, created = merkle.frontier_append(
        merkle.unpack_hashes(bytes(head.frontier)), index, merkle.leaf_hash(leaf.encode())
    )
    ReceiptNode.objects.bulk_create([ReceiptNode(position=p, hash=h) for p, h in created])
    head.size = index + 1
    head.frontier = merkle.pack_hashes(frontier)
    head.save(update_fields=["size", "frontier"])
    transaction.on_commit(_queue_receipt_tiles)  # never raises: see registry.dispatch
    return receipt


def _queue_receipt_tiles() -> None:
    """The receipts log's static tiles (``registry.tiles``); a lost task is made up by the
    periodic catch-up."""
    # Imported here: the tasks import the publishers, which import this module.
    from registry.dispatch import queue
    from registry.mirror_tasks import receipt_tiles_publish_task

    queue(receipt_tiles_publish_task)


# --- the receipts log's proofs -------------------------------------------------------------------


def receipts_size() -> int:
    head = ReceiptLogHead.objects.filter(id=1).first()
    return head.size if head else 0


def _ranges_hashes(ranges: list[tuple[int, int]]) -> list[bytes]:
    positions = merkle.positions_for(ranges)
    found = {
        p: bytes(h)
        for p, h in ReceiptNode.objects.filter(position__in=positions).values_list(
            "position", "hash"
        )
    }
    return [merkle.range_hash(a, b, found.__getitem__) for a, b in ranges]


def receipts_root(size: int) -> bytes:
    return merkle.EMPTY_ROOT if size == 0 else _ranges_hashes([(0, size)])[0]


def receipts_checkpoint(size: int | None = None) -> str:
    """The receipts log's signed checkpoint, of its current size unless ``size`` is given
    (Ed25519 is deterministic: the same size always gives the same note, so none is
    stored)."""
    size = receipts_size() if size is None else size
    origin = f"{settings.LOG_NAME}/receipts"
    text = notes.checkpoint_text(origin, size, receipts_root(size))
    return notes.sign_note(text, settings.LOG_NAME, load_signing_key())


def _within_receipts_log(size: int) -> None:
    current = receipts_size()
    if size > current:
        raise BeyondTheLog(f"The receipts log has {current} entries; size {size} is beyond it.")


def receipt_inclusion_proof(index: int, size: int) -> list[bytes]:
    """Raises ``BeyondTheLog`` for a size the receipts log has not reached, as the
    registry log's proofs do, and ``ReceiptRefused`` for an index not below it."""
    _within_receipts_log(size)
    if not 0 <= index < size:
        raise ReceiptRefused(f"index ({index}) must be below size ({size}).", field="index")
    return _ranges_hashes(merkle.inclusion_ranges(index, size))


def receipt_consistency_proof(first: int, second: int) -> list[bytes]:
    _within_receipts_log(second)
    if not 0 <= first <= second:
        raise ReceiptRefused(f"first ({first}) must not exceed second ({second}).", field="first")
    return _ranges_hashes(merkle.consistency_ranges(first, second))


# --- reads for the public page and API -------------------------------------------------------


@dataclass(frozen=True)
class DownstreamStatus:
    user: DownstreamUser
    newest: Receipt | None
    entries_behind: int | None  # log entries the registry gained since


def downstream_status() -> list[DownstreamStatus]:
    current = log_size()
    newest_sizes = dict(
        Receipt.objects.values("user")
        .annotate(size=Max("checkpoint_size"))
        .values_list("user", "size")
    )
    rows = []
    for user in DownstreamUser.objects.order_by("name"):
        size = newest_sizes.get(user.id)
        newest = (
            Receipt.objects.filter(user=user, checkpoint_size=size).order_by("-index").first()
            if size is not None
            else None
        )
        rows.append(
            DownstreamStatus(
                user, newest, None if newest is None else current - newest.checkpoint_size
            )
        )
    return rows


def downstream_applied_count(size: int) -> tuple[int, int]:
    """How many registered downstream users applied a checkpoint of at least ``size``, of
    how many (for an owner's status page)."""
    total = DownstreamUser.objects.count()
    applied = Receipt.objects.filter(checkpoint_size__gte=size).values("user").distinct().count()
    return applied, total
