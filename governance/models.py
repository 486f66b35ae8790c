"""Datasets, their versions, the shards each version is built from, and verifications.

The database is the source of truth for releases: a version is visible exactly when its
row says ``published``. Files on storage follow it (see ``governance.releases.publish``).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q

from governance.enums import (
    OPEN_VERIFICATIONS,
    MarkerKind,
    ReleaseStep,
    ShardAction,
    ShardStatus,
    VerificationStatus,
    VersionStatus,
)


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    source_uri = models.CharField(
        max_length=1000, help_text="Folder of Parquet shards: a local path or an fsspec URL."
    )
    repo_column = models.CharField(max_length=100, default="repo_name")
    implied_host = models.CharField(
        max_length=100, default="github.com", help_text="Host the repository column implies."
    )
    output_uri = models.CharField(
        max_length=1000, blank=True, help_text="Where versions are written (default: storage root)."
    )
    license = models.CharField(max_length=200, blank=True)
    # Where a release looks for opt-out markers at repositories' roots (docs/releases.md);
    # a shard without the path or content column is not scanned.
    path_column = models.CharField(
        max_length=100, default="path", blank=True, help_text="File path in the repository."
    )
    content_column = models.CharField(
        max_length=100, default="content", blank=True, help_text="The file's text."
    )
    revision_column = models.CharField(
        max_length=100,
        default="revision_id",
        blank=True,
        help_text="The commit or blob id a marker's evidence cites (optional).",
    )
    release_cadence = models.DurationField(
        null=True,
        blank=True,
        default=timedelta(days=1),
        help_text=(
            "Least time between two scheduled releases (e.g. '1 00:00:00' for a day). "
            "Empty: only manual releases."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.BUILDING
    )
    step = models.CharField(
        max_length=16, choices=ReleaseStep.choices, default=ReleaseStep.PLANNING
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The published version this one is compared with and reuses shards from.",
    )
    log_size = models.PositiveBigIntegerField(help_text="Registry checkpoint (log size) applied.")
    root_hash = models.CharField(max_length=64, blank=True, help_text="Checkpoint root, base64.")
    checkpoint_note = models.TextField(blank=True, help_text="The signed checkpoint note.")
    source_fingerprint = models.CharField(max_length=64, blank=True)
    triggered_by = models.CharField(max_length=100, blank=True)
    shards_total = models.PositiveIntegerField(default=0)
    shards_done = models.PositiveIntegerField(default=0)
    shards_reused = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(
        default=0, help_text="Source rows processed; while building, the sum over its shards."
    )
    rows_total = models.PositiveBigIntegerField(default=0, help_text="Source rows to process.")
    rows_in = models.PositiveBigIntegerField(default=0)
    rows_out = models.PositiveBigIntegerField(default=0)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every progress update (QuerySet.update() skips auto_now, so they set it):
    # the reconciler resumes only versions idle for longer than its threshold.
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set once the version_published signal's receivers have run: the outbox flag the
    # reconciler reads to re-announce a publication that a crash interrupted.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="governance_version_once"),
            models.UniqueConstraint(
                fields=["dataset"],
                condition=Q(status=VersionStatus.BUILDING),
                name="governance_one_build_at_a_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=VersionStatus.PUBLISHED) | ~Q(manifest_sha256=""),
                name="governance_published_has_manifest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name} {self.version}"

    @property
    def label(self) -> str:
        return f"{self.dataset.name} {self.version}"


class ShardBuild(models.Model):
    """One source shard of one version: rewritten from the source, or reused unchanged."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="shards")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=255, help_text="File name of the source shard.")
    source_fingerprint = models.CharField(max_length=64)
    source_bytes = models.PositiveBigIntegerField(default=0)
    action = models.CharField(max_length=8, choices=ShardAction.choices)
    reuse_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=ShardStatus.choices, default=ShardStatus.PENDING
    )
    rows_in = models.PositiveBigIntegerField(default=0)
    rows_out = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(
        default=0, help_text="Source rows the current attempt has processed."
    )
    bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="governance_shard_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.name}"


class VersionVerification(models.Model):
    """One run of ``verify_version`` on a published version, requested over the API.

    Re-hashing reads every byte of a version, so it runs as a task, one at a time per
    version: a request while one is queued or running joins it (the constraint below).
    """

    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="verifications"
    )
    status = models.CharField(
        max_length=8, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True, help_text="The report, once finished.")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(status__in=OPEN_VERIFICATIONS),
                name="governance_one_open_verification",
            ),
        ]

    def __str__(self) -> str:
        return f"verification of {self.version} ({self.status})"


class DatasetMarker(models.Model):
    """An opt-out marker found at a repository's root while a version's shard was built.

    Recorded with the shard, in the transaction that marks it done; optout turns each
    into a removal request once the version is published (``version_published``).
    """

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="markers")
    shard = models.CharField(max_length=255, help_text="File name of the shard.")
    repository = models.CharField(max_length=512, help_text="Canonical host/owner/name.")
    path = models.CharField(max_length=1000)
    kind = models.CharField(max_length=32, choices=MarkerKind.choices)
    directive = models.CharField(max_length=200, help_text="The line that opts out.")
    revision = models.CharField(max_length=200, blank=True)
    revision_column = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["version", "repository", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "repository", "kind"], name="governance_marker_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} in {self.repository} ({self.version})"
