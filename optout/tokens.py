"""The two secrets of a request.

- The *status token* opens the owner's secret link (see ``optout/links.py``). Only its
  SHA-256 is stored.
- The *verification token* is published by the owner (in a file or a repository name),
  so it is not secret once used; it is unguessable (128 bits) and expires with the request.
"""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_verification_token() -> str:
    return secrets.token_hex(16)
