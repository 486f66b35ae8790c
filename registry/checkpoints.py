"""Checkpoints: the log's size and Merkle root, signed as a C2SP signed note.

Formats followed:
- leaves and nodes hashed as RFC 6962 / RFC 9162: leaf = SHA-256(0x00 ‖ data),
  node = SHA-256(0x01 ‖ left ‖ right), the root of an empty tree is SHA-256("");
- the checkpoint body is C2SP tlog-checkpoint (origin, size, base64 root, each on a line);
- the signature line is C2SP signed-note with an Ed25519 key (signature type 0x01).

MINIMAL (Foundation): the root is recomputed from every leaf on each call, O(n). The
registry issue stores subtree hashes so that roots and proofs need O(log n) reads; the
functions below keep their signatures.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from registry.models import LogEntry
from registry.selectors import log_size
from registry.signing import load_signing_key

ED25519_ALGORITHM = b"\x01"


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root_hash: bytes
    note: str  # the whole signed note, text and signature lines

    @property
    def root_hash_b64(self) -> str:
        return base64.b64encode(self.root_hash).decode()


def leaf_bytes(entry: LogEntry) -> bytes:
    """The exact bytes hashed for an entry: one tab-separated UTF-8 line."""
    return "\t".join(
        [str(entry.index), entry.action, entry.kind, entry.subject, entry.cause]
    ).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaf_hashes: list[bytes]) -> bytes:
    """RFC 6962's MTH over already-hashed leaves."""
    if not leaf_hashes:
        return hashlib.sha256(b"").digest()
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    split = 1 << ((len(leaf_hashes) - 1).bit_length() - 1)  # largest power of 2 below n
    return node_hash(merkle_root(leaf_hashes[:split]), merkle_root(leaf_hashes[split:]))


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + public_key).digest()[:4]


def _public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verifier_key() -> str:
    """The verifier key in C2SP's text form: ``name+hexkeyid+base64(0x01‖key)``."""
    public = _public_key_bytes(load_signing_key())
    name = settings.LOG_NAME
    encoded = base64.b64encode(ED25519_ALGORITHM + public).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def sign_checkpoint(size: int, root_hash: bytes) -> str:
    name = settings.LOG_NAME
    body = f"{name}\n{size}\n{base64.b64encode(root_hash).decode()}\n"
    private = load_signing_key()
    signature = private.sign(body.encode())
    stamp = base64.b64encode(key_id(name, _public_key_bytes(private)) + signature).decode()
    return f"{body}\n\u2014 {name} {stamp}\n"


def checkpoint_at(size: int) -> Checkpoint:
    """The signed checkpoint of the log's first ``size`` entries."""
    entries = LogEntry.objects.filter(index__lt=size).order_by("index")
    hashes = [leaf_hash(leaf_bytes(entry)) for entry in entries.iterator(chunk_size=10_000)]
    if len(hashes) != size:
        raise ValueError(f"The log has {len(hashes)} entries, fewer than {size}.")
    root = merkle_root(hashes)
    return Checkpoint(size=size, root_hash=root, note=sign_checkpoint(size, root))


def checkpoint_latest() -> Checkpoint:
    return checkpoint_at(log_size())
