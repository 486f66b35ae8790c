"""Datasets and their published versions.

MINIMAL (Foundation): a version records the registry log size it applied and its
manifest's checksum. The releases issue adds per-shard tasks, shard reuse, changelogs,
dataset cards, progress and the reconciler.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from governance.enums import VersionStatus


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
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.BUILDING
    )
    log_size = models.PositiveBigIntegerField(help_text="Registry checkpoint (log size) applied.")
    rows_in = models.PositiveBigIntegerField(default=0)
    rows_out = models.PositiveBigIntegerField(default=0)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="governance_version_once"),
            models.UniqueConstraint(
                fields=["dataset"],
                condition=Q(status=VersionStatus.BUILDING),
                name="governance_one_build_at_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name} {self.version}"

    @property
    def label(self) -> str:
        return f"{self.dataset.name} {self.version}"
