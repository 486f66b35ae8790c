"""Downstream receipts as C2SP signed notes. No Django: the client writes them
(``python -m registry.client ack``) and the portal reads them (``registry.receipts``).

The note's text, one field a line:

    <log origin>/receipt
    <downstream user name>
    <dataset name>
    <checkpoint size>
    <checkpoint root, base64>
    <SHA-256 of the dataset's manifest, hex, or ->
    <when it was applied, UTC, YYYY-MM-DDTHH:MM:SSZ>

signed with the downstream user's registered Ed25519 key (``registry.notes``). The first
line ties the receipt to one log, so it cannot be replayed to another.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


class ReceiptError(ValueError):
    """A receipt that does not parse; the message says which line and why."""


@dataclass(frozen=True)
class ReceiptBody:
    origin: str
    user: str
    dataset: str
    size: int
    root: bytes
    manifest_sha256: str  # "" when not given
    applied_at: dt.datetime


def receipt_text(body: ReceiptBody) -> str:
    lines = [
        f"{body.origin}/receipt",
        body.user,
        body.dataset,
        str(body.size),
        base64.b64encode(body.root).decode(),
        body.manifest_sha256 or "-",
        body.applied_at.astimezone(dt.UTC).strftime(_STAMP),
    ]
    return "\n".join(lines) + "\n"


def parse_receipt(text: str, *, origin: str) -> ReceiptBody:
    lines = text.split("\n")
    if len(lines) != 8 or lines[-1] != "":
        raise ReceiptError("A receipt has seven lines (docs/mirroring.md, 'Receipts').")
    if lines[0] != f"{origin}/receipt":
        raise ReceiptError(f"Line 1 must be {origin}/receipt, not {lines[0][:100]!r}.")
    if not USER_NAME.match(lines[1]):
        raise ReceiptError(f"Line 2 is not a downstream user name: {lines[1][:100]!r}.")
    if not _DATASET.match(lines[2]):
        raise ReceiptError(
            f"Line 3 is not a dataset name (letters, digits, . _ / -): {lines[2][:100]!r}."
        )
    if not _SIZE.match(lines[3]):
        raise ReceiptError(f"Line 4 is not a checkpoint size: {lines[3][:40]!r}.")
    try:
        root = base64.b64decode(lines[4], validate=True)
    except binascii.Error:
        root = b""
    if len(root) != 32:
        raise ReceiptError("Line 5 is not a base64 SHA-256 root hash.")
    if lines[5] != "-" and not _SHA256.match(lines[5]):
        raise ReceiptError("Line 6 is not a manifest SHA-256 in lowercase hex (or '-').")
    try:
        applied = dt.datetime.strptime(lines[6], _STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        raise ReceiptError("Line 7 is not a UTC time like 2026-12-03T20:00:00Z.") from None
    return ReceiptBody(
        origin=origin,
        user=lines[1],
        dataset=lines[2],
        size=int(lines[3]),
        root=root,
        manifest_sha256="" if lines[5] == "-" else lines[5],
        applied_at=applied,
    )
