"""The receipts log as static tiles: what a reader written apart from our Merkle code
(``tests/registry/test_tiles.py``'s) finds there is the receipts log's own roots, proofs
and signed checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from registry import notes
from registry.checkpoints import verifier_key
from registry.models import PublishedMirror, Receipt
from registry.public_store import public_root
from registry.receipts import (
    receipt_consistency_proof,
    receipt_inclusion_proof,
    receipt_submit,
    receipts_root,
)
from registry.services import exclusion_add
from registry.tiles import receipt_tiles_publish
from tests.registry import test_receipts
from tests.registry.test_receipts import _note
from tests.registry.test_tiles import IndependentReader

acme = test_receipts.acme  # the receipts tests' fixture: a downstream user with a key


def _store() -> Path:
    return Path(public_root()) / "receipts"


def _submit(token, count: int) -> None:
    for _ in range(count):
        receipt_submit(note=_note(size=2), token=token)


def _signed_checkpoint() -> notes.ParsedCheckpoint:
    text = notes.verify_note(
        (_store() / "checkpoint").read_text(), notes.parse_verifier_key(verifier_key())
    )
    return notes.parse_checkpoint(text, origin=f"{settings.LOG_NAME}/receipts")


@pytest.mark.django_db
def test_an_independent_reader_gets_the_receipts_logs_roots_and_proofs(acme) -> None:
    _, token, _ = acme
    assert receipt_tiles_publish() == 0 and not _store().exists()  # nothing to publish yet
    _submit(token, 260)
    size = 260

    assert receipt_tiles_publish() == size

    reader = IndependentReader(_store(), size)
    assert reader.leaves() == [
        leaf.encode() for leaf in Receipt.objects.order_by("index").values_list("leaf", flat=True)
    ]
    assert reader.mth(0, size) == receipts_root(size)
    for index in (0, 255, 256, 259):
        assert reader.path(index, 0, size) == receipt_inclusion_proof(index, size)
    for first in (1, 100, 256):
        assert reader.subproof(first, 0, size, True) == receipt_consistency_proof(first, size)
    checkpoint = _signed_checkpoint()
    assert (checkpoint.size, checkpoint.root_hash) == (size, receipts_root(size))
    assert PublishedMirror.objects.get(name="receipt-tiles").size == size


@pytest.mark.django_db
def test_a_later_publication_adds_what_the_receipts_log_gained(acme) -> None:
    _, token, _ = acme
    _submit(token, 256)
    receipt_tiles_publish()
    full = _store() / "tile" / "0" / "000"
    before = full.read_bytes()
    _submit(token, 3)

    assert receipt_tiles_publish() == 259
    assert receipt_tiles_publish() == 259  # twice: the same files

    assert full.read_bytes() == before  # a full tile is never rewritten
    assert (_store() / "tile/0/001.p/3").exists()
    assert (_store() / "tile/entries/001.p/3").exists()
    assert IndependentReader(_store(), 259).mth(0, 259) == receipts_root(259)
    assert _signed_checkpoint().size == 259


@pytest.mark.django_db(transaction=True)
def test_a_posted_receipt_is_published_after_commit_and_served_under_mirror(client) -> None:
    from registry import notes as n
    from registry.receipts import downstream_key_add, downstream_user_register
    from registry.tokens import token_create
    from tests.registry.test_receipts import PIPELINE_KEY

    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="repository", subject="github.com/a/c", cause="c:2")
    token, _ = token_create(name="acme", scopes=["registry:read"])
    user = downstream_user_register(name="acme", token=token)
    downstream_key_add(user=user, verifier_key=str(n.verifier_key_for("acme-2026", PIPELINE_KEY)))

    receipt_submit(note=_note(size=2), token=token)

    checkpoint = client.get("/mirror/receipts/checkpoint")
    tile = client.get("/mirror/receipts/tile/entries/000.p/1")
    assert checkpoint.status_code == 200
    assert checkpoint.content.decode() == (_store() / "checkpoint").read_text()
    assert _signed_checkpoint().size == 1
    assert b"".join(tile.streaming_content) == (_store() / "tile/entries/000.p/1").read_bytes()
    assert client.get("/mirror/receipts/tile/0/000.p/1")["Cache-Control"].endswith("immutable")
