"""Signals governance sends to the layers above it (it never imports them)."""

from django.dispatch import Signal

# Sent once a dataset version is published (after its row is committed), and sent again
# by the reconciler if a crash came before the send was recorded, so receivers must be
# idempotent. Arguments:
# - log_size: the registry checkpoint (log size) the version applied;
# - version_label: "demo 1.0.3";
# - dataset: "demo"; version: "1.0.3";
# - manifest_sha256: SHA-256 of the version's manifest.json, for owners' e-mails.
version_published = Signal()
