"""Signals from lower layers that change requests."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance.signals import version_published
from optout.dataset_markers import marker_requests_open
from optout.services import requests_exclusion_revoked, requests_mark_applied
from registry.signals import exclusion_revoked


@receiver(version_published)
def mark_requests_applied(
    sender: Any, *, log_size: int, version_label: str, manifest_sha256: str = "", **kwargs: Any
) -> None:
    requests_mark_applied(
        up_to_log_size=log_size, version_label=version_label, manifest_sha256=manifest_sha256
    )


@receiver(exclusion_revoked)
def tell_owners_of_a_revoked_exclusion(
    sender: Any, *, exclusion: Any, actor: str, reason: str, **kwargs: Any
) -> None:
    requests_exclusion_revoked(
        kind=exclusion.kind, subject=exclusion.subject, actor_label=actor, reason=reason
    )


@receiver(version_published)
def open_marker_requests(sender: Any, *, dataset: str, version: str, **kwargs: Any) -> None:
    marker_requests_open(dataset=dataset, version=version)
