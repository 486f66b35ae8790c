"""Removal requests, the subjects they name, and the history of their status."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.enums import MarkerKind
from optout.enums import RequestStatus, VerificationMethod
from registry.enums import ExclusionKind


class RemovalRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=32, choices=RequestStatus.choices, default=RequestStatus.PENDING_VERIFICATION
    )
    # Empty for a request the portal opened from a marker in the dataset (nobody to write to).
    contact_email = models.EmailField(blank=True)
    reason = models.TextField(blank=True)
    # The owner's secret link carries a token; only its SHA-256 is stored.
    status_token_hash = models.CharField(max_length=64, editable=False)
    # Published by the owner in the repository, so it is not a secret once used.
    verification_token = models.CharField(max_length=64, unique=True, editable=False)
    # Registry log size right after this request's exclusions were written: any dataset
    # version built at a checkpoint at least this large has applied the request.
    applied_from_log_size = models.PositiveBigIntegerField(null=True, blank=True)
    # The forge account that proved control by signing in; it lists the request as its own.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_removal_requests",
    )
    # An unverified request expires then (OPTOUT_TOKEN_TTL_DAYS after submission).
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Request {self.public_id} ({self.get_status_display()})"

    @property
    def cause(self) -> str:
        """The opaque reference the registry keeps for exclusions this request caused."""
        return f"optout.request:{self.public_id}"


class RequestSubject(models.Model):
    request = models.ForeignKey(RemovalRequest, on_delete=models.CASCADE, related_name="subjects")
    kind = models.CharField(max_length=16, choices=ExclusionKind.choices)
    subject = models.CharField(max_length=512)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=32, choices=VerificationMethod.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "subject"], name="optout_subject_once")
        ]
        indexes = [models.Index(fields=["subject"])]

    def __str__(self) -> str:
        return self.subject


class RequestEvent(models.Model):
    """One status change. The history of a request, and the queue notifications read."""

    request = models.ForeignKey(RemovalRequest, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=150, help_text="owner, system or a username")
    from_status = models.CharField(max_length=32, choices=RequestStatus.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=RequestStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="optout_event_unnotified", condition=Q(notified_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"

    @property
    def revoked_in_part(self) -> bool:
        """A maintainer revoked the exclusion of one subject; the request kept its status
        (``requests_exclusion_revoked``): the one kind of event that changes no status."""
        return bool(self.from_status) and self.from_status == self.to_status

    @property
    def revoked(self) -> bool:
        """The maintainers ended an approved or applied request (its page's Revoke, or a
        revoked exclusion that left it nothing to exclude)."""
        return (
            self.to_status == RequestStatus.WITHDRAWN
            and self.from_status in (RequestStatus.APPROVED, RequestStatus.APPLIED)
            and self.actor_label not in ("owner", "system")
        )


class VerificationRun(models.Model):
    """One "check now" by the owner. Counted to rate-limit verification attempts."""

    request = models.ForeignKey(
        RemovalRequest, on_delete=models.CASCADE, related_name="verification_runs"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The signed-in person who pressed "Check now": their forge sign-in is tried.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Subjects left for the next run because this one used up OPTOUT_VERIFY_RUN_SECONDS.
    subjects_skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["request", "started_at"])]

    def __str__(self) -> str:
        return f"verification run {self.id} of {self.request_id}"


class VerificationAttempt(models.Model):
    """The evidence of one method checking one subject: what was fetched, when, the result."""

    run = models.ForeignKey(VerificationRun, on_delete=models.CASCADE, related_name="attempts")
    subject = models.ForeignKey(RequestSubject, on_delete=models.CASCADE, related_name="attempts")
    method = models.CharField(max_length=32, choices=VerificationMethod.choices)
    succeeded = models.BooleanField()
    message = models.TextField(help_text="The result, as shown to the owner.")
    evidence = models.JSONField(default=dict, help_text="URLs, statuses, commit, forge ids.")
    checked_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["checked_at", "id"]

    def __str__(self) -> str:
        return f"{self.method} on {self.subject}: {'ok' if self.succeeded else 'failed'}"


class MarkerRequest(models.Model):
    """A request the portal opened because the dataset holds an opt-out marker.

    One per repository and kind of marker, ever: a rerun of the scan, a redelivered
    announcement or a later release finds this row and opens nothing new, and a marker
    request that was rejected or withdrawn is not opened again by the same marker.
    """

    request = models.OneToOneField(
        RemovalRequest, on_delete=models.CASCADE, related_name="marker_origin"
    )
    repository = models.CharField(max_length=512)
    marker = models.CharField(max_length=32, choices=MarkerKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "marker"], name="optout_marker_once")
        ]

    def __str__(self) -> str:
        return f"{self.marker} in {self.repository}"
