"""Exclusions (current state) and the append-only log of every change to them.

MINIMAL (Foundation): the log is a plain ordered table. The registry issue adds the
Merkle tree over it (RFC 6962 leaves, stored subtree hashes), signed checkpoints and
proofs. Until then a "checkpoint" is just a log size.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from registry.enums import ExclusionKind, LogAction


class Exclusion(models.Model):
    kind = models.CharField(max_length=16, choices=ExclusionKind.choices)
    # Canonical id: host/owner/name for a repository, host/owner[/subgroup…] for a namespace.
    subject = models.CharField(max_length=512)
    active = models.BooleanField(default=True)
    cause = models.CharField(max_length=200, help_text="Opaque reference to what caused it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    removed_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(active=True),
                name="registry_one_active_exclusion_per_subject",
            ),
        ]
        indexes = [models.Index(fields=["subject"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}{'' if self.active else ' (removed)'}"


class LogEntry(models.Model):
    """One change to the registry. Rows are only ever appended, never updated."""

    index = models.PositiveBigIntegerField(unique=True)
    action = models.CharField(max_length=8, choices=LogAction.choices)
    kind = models.CharField(max_length=16, choices=ExclusionKind.choices)
    subject = models.CharField(max_length=512)
    cause = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "log entries"

    def __str__(self) -> str:
        return f"#{self.index} {self.action} {self.kind} {self.subject}"


class LogHead(models.Model):
    """The log's size. One row, locked by every append so indexes are gap-free."""

    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="registry_single_log_head")]

    def __str__(self) -> str:
        return f"log size {self.size}"
