"""The Ed25519 key that signs registry checkpoints.

The key file holds the 32-byte private seed, base64-encoded on one line. In development
(``DEBUG``) a missing file is generated on first use; in production the file must exist,
since a new key would make every pipeline distrust the log.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def write_new_signing_key(path: Path) -> None:
    """Create a key file, refusing to overwrite one (it is the log's identity)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(seed).decode() + "\n")


def load_signing_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = Path(path or settings.LOG_SIGNING_KEY_FILE)
    if not path.exists():
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                f"LOG_SIGNING_KEY_FILE points to {path}, which does not exist. Create it with "
                "`python manage.py generate_signing_key PATH`."
            )
        with contextlib.suppress(FileExistsError):  # another process created it first
            write_new_signing_key(path)
    try:
        seed = base64.b64decode(path.read_text().strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(seed)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"LOG_SIGNING_KEY_FILE {path} does not hold a base64 Ed25519 seed of 32 bytes: {exc}"
        ) from None
