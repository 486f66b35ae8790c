"""What the registry tells the apps above it, which it does not import (docs/registry.md).

``exclusion_revoked`` is sent inside the transaction that ended the exclusion, so what a
receiver writes (an event for the owner to read, an e-mail in the outbox) commits with the
signed log entry or not at all. Receivers do no I/O: they write rows and queue work after
commit. Arguments: ``exclusion`` (the now inactive row), ``actor`` (the maintainer's
username) and ``reason`` (what the owner reads).
"""

from __future__ import annotations

from django.dispatch import Signal

exclusion_revoked = Signal()
