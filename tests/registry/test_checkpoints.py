import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.checkpoints import checkpoint_latest, verifier_key
from registry.merkle import leaf_hash, merkle_root
from registry.services import exclusion_add

# RFC 6962 test vectors (as published with the certificate-transparency reference code).
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def test_roots_match_the_rfc6962_test_vectors() -> None:
    assert merkle_root([]).hex() == hashlib.sha256(b"").hexdigest()
    for size, expected in ROOTS.items():
        assert merkle_root([leaf_hash(leaf) for leaf in LEAVES[:size]]).hex() == expected


@pytest.mark.django_db
def test_the_checkpoint_note_verifies_with_the_published_key() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    checkpoint = checkpoint_latest()
    body, signature_line = checkpoint.note.split("\n\n")
    origin, size, root = body.split("\n")
    assert (int(size), base64.b64decode(root)) == (1, checkpoint.root_hash)
    name, key_hash, key_b64 = verifier_key().split("+", 2)
    assert name == origin
    stamp = base64.b64decode(signature_line.strip().split(" ")[2])
    assert stamp[:4].hex() == key_hash
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64)[1:])
    public.verify(stamp[4:], (body + "\n").encode())  # raises on a bad signature


@pytest.mark.django_db
def test_a_checkpoint_is_stored_for_each_change_by_default() -> None:
    from registry.models import SignedCheckpoint

    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/r{i}", cause="c")
    assert list(SignedCheckpoint.objects.values_list("size", flat=True)) == [3, 2, 1]
    assert checkpoint_latest().size == 3


@pytest.mark.django_db
def test_checkpoints_are_batched_when_an_interval_is_set(settings) -> None:
    from registry.checkpoints import checkpoint_at
    from registry.models import SignedCheckpoint
    from registry.tasks import checkpoint_publish
    from tests.registry.history import guards_off

    settings.LOG_CHECKPOINT_INTERVAL = 3600
    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/r{i}", cause="c")
    # the first change signs (nothing was published yet); the next two wait for the interval
    assert list(SignedCheckpoint.objects.values_list("size", flat=True)) == [1]
    assert checkpoint_latest().size == 1
    assert checkpoint_publish() is None  # the interval has not passed
    with guards_off():  # as if the hour had passed
        SignedCheckpoint.objects.update(created_at="2000-01-01T00:00:00Z")
    assert checkpoint_publish() == 3
    assert checkpoint_latest().size == 3
    assert checkpoint_at(2).root_hash == merkle_root(
        [leaf_hash(text.encode()) for text in _leaves()[:2]]
    )


def _leaves() -> list[str]:
    from registry.models import LogEntry

    return list(LogEntry.objects.order_by("index").values_list("leaf", flat=True))
