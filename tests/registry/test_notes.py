"""Signed notes: a valid checkpoint verifies; every kind of mangling is refused."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import notes

NAME = "optout.example/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
VKEY = notes.verifier_key_for(NAME, KEY)
ROOT = bytes(range(32))


def _note(text: str | None = None, *, name: str = NAME, key=KEY) -> str:
    return notes.sign_note(text or notes.checkpoint_text(NAME, 5, ROOT), name, key)


def test_a_signed_checkpoint_verifies_and_parses() -> None:
    parsed = notes.verify_checkpoint(_note(), VKEY)
    assert (parsed.origin, parsed.size, parsed.root_hash) == (NAME, 5, ROOT)


def test_the_verifier_key_round_trips_through_its_text_form() -> None:
    assert notes.parse_verifier_key(str(VKEY)) == VKEY
    name, key_hex, _ = str(VKEY).split("+", 2)
    assert (name, key_hex) == (NAME, notes.key_id(NAME, VKEY.public_key).hex())


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n.replace("\n5\n", "\n6\n"), "note was changed"),
        (lambda n: n.replace(NAME + "\n", "other.example/log\n", 1), "note was changed"),
        (lambda n: n.replace("\u2014 " + NAME, "\u2014 other.example/log"), "not by the trusted"),
        (lambda n: n[:-6] + ("A" if n[-6] != "A" else "B") + n[-5:], "note was changed"),
        (lambda n: n + n.split("\n\n")[1], "exactly one signature"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.replace("\u2014 ", "- "), "em dash"),
        (lambda n: n.rstrip("\n"), "exactly one signature"),
        (lambda n: n.replace(n.split(" ")[-1], "!!!!\n"), "base64"),
    ],
)
def test_mangled_notes_are_rejected(mangle, message) -> None:
    with pytest.raises(notes.NoteError, match=message):
        notes.verify_checkpoint(mangle(_note()), VKEY)


def test_a_note_signed_by_an_unknown_key_is_rejected() -> None:
    with pytest.raises(notes.NoteError, match="key id"):
        notes.verify_checkpoint(_note(key=OTHER), VKEY)


def test_an_extra_signature_by_another_key_is_rejected() -> None:
    extra = _note(name="witness.example", key=OTHER).split("\n\n")[1]
    with pytest.raises(notes.NoteError, match="exactly one signature"):
        notes.verify_checkpoint(_note() + extra, VKEY)


def test_a_checkpoint_for_another_origin_or_with_a_bad_size_is_rejected() -> None:
    with pytest.raises(notes.NoteError, match="not for"):
        notes.verify_checkpoint(_note(notes.checkpoint_text("evil/log", 5, ROOT)), VKEY)
    bad_size = f"{NAME}\n05\n{base64.b64encode(ROOT).decode()}\n"
    with pytest.raises(notes.NoteError, match="decimal"):
        notes.verify_checkpoint(_note(bad_size), VKEY)


def test_a_malformed_verifier_key_is_rejected() -> None:
    name, _key_hex, encoded = str(VKEY).split("+", 2)
    with pytest.raises(notes.NoteError, match="does not match"):
        notes.parse_verifier_key(f"{name}+00000000+{encoded}")
    with pytest.raises(notes.NoteError, match="three parts"):
        notes.parse_verifier_key("nonsense")
