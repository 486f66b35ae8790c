"""Signals governance sends to the layers above it (it never imports them)."""

from django.dispatch import Signal

# Sent after commit when a dataset version is published.
# Arguments: log_size (the registry checkpoint it applied), version_label ("demo 1.0.3").
version_published = Signal()
