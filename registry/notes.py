"""C2SP signed notes and tlog checkpoints with Ed25519, without Django.

Formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
- a verifier key is ``<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte public key)>``, the key
  id being the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key);
- a note is its text (ending in a newline), an empty line, then signature lines
  ``— <name> <base64(key id ‖ signature)>``;
- a checkpoint's text is the origin, the tree size in decimal and the base64 root hash,
  one per line.

Verification here is stricter than C2SP requires: the note must carry exactly one
signature, by the expected key. Our log has no witnesses, so any other line is a sign of
tampering and we refuse it rather than ignore it (fail closed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_ALGORITHM = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
_NAME = re.compile(r"^[^\s+]+$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,18})$")


class NoteError(ValueError):
    """A note, key or checkpoint that does not parse or verify; the message says why."""


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes

    def __str__(self) -> str:
        encoded = base64.b64encode(ED25519_ALGORITHM + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


@dataclass(frozen=True)
class ParsedCheckpoint:
    origin: str
    size: int
    root_hash: bytes


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + public_key).digest()[:4]


def verifier_key_for(name: str, private_key: Ed25519PrivateKey) -> VerifierKey:
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return VerifierKey(name=name, key_id=key_id(name, public), public_key=public)


def parse_verifier_key(text: str) -> VerifierKey:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("A verifier key is name+keyid+base64key (three parts joined by '+').")
    name, key_hex, encoded = parts
    if not _NAME.match(name):
        raise NoteError(f"{name!r} is not a valid key name.")
    try:
        raw = base64.b64decode(encoded, validate=True)
        wanted_id = bytes.fromhex(key_hex)
    except (binascii.Error, ValueError):
        raise NoteError("The verifier key's id or key is not valid hex/base64.") from None
    if len(raw) != 33 or raw[:1] != ED25519_ALGORITHM:
        raise NoteError("The verifier key is not an Ed25519 key (0x01 followed by 32 bytes).")
    public = raw[1:]
    if wanted_id != key_id(name, public):
        raise NoteError("The verifier key's id does not match its name and key.")
    return VerifierKey(name=name, key_id=wanted_id, public_key=public)


def checkpoint_text(origin: str, size: int, root_hash: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode()}\n"


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    if not text.endswith("\n"):
        raise NoteError("A note's text must end with a newline.")
    key = verifier_key_for(name, private_key)
    signature = private_key.sign(text.encode())
    stamp = base64.b64encode(key.key_id + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {stamp}\n"


def verify_note(note: str, key: VerifierKey) -> str:
    """Return the note's text if it carries exactly one valid signature by ``key``."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise NoteError("The note has no blank line between its text and its signature.")
    text += "\n"
    if "\n\n" in text:
        raise NoteError("The note's text contains an empty line.")
    lines = signatures.split("\n")
    if lines[-1] != "" or len(lines) != 2:
        raise NoteError("The note must end with exactly one signature line and a newline.")
    line = lines[0]
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("The signature line does not start with an em dash and a space.")
    name, space, stamp_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space or name != key.name:
        raise NoteError(f"The note is signed by {name!r}, not by the trusted key {key.name!r}.")
    try:
        stamp = base64.b64decode(stamp_b64, validate=True)
    except binascii.Error:
        raise NoteError("The signature is not valid base64.") from None
    if len(stamp) != 4 + 64 or stamp[:4] != key.key_id:
        raise NoteError("The signature's key id is not the trusted key's.")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(stamp[4:], text.encode())
    except InvalidSignature:
        raise NoteError("The signature does not verify: the note was changed.") from None
    return text


def parse_checkpoint(text: str, *, origin: str) -> ParsedCheckpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("A checkpoint has an origin, a size and a root hash, one per line.")
    if lines[0] != origin:
        raise NoteError(f"The checkpoint is for {lines[0]!r}, not for {origin!r}.")
    if not _DECIMAL.match(lines[1]):
        raise NoteError(f"The checkpoint size {lines[1]!r} is not a decimal number.")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise NoteError("The checkpoint root hash is not valid base64.") from None
    if len(root) != 32:
        raise NoteError("The checkpoint root hash is not 32 bytes.")
    return ParsedCheckpoint(origin=lines[0], size=int(lines[1]), root_hash=root)


def verify_checkpoint(note: str, key: VerifierKey) -> ParsedCheckpoint:
    return parse_checkpoint(verify_note(note, key), origin=key.name)
