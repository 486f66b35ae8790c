"""Exclusions (current state), the append-only log, its Merkle tree and checkpoints.

- ``Exclusion`` rows are the state in force; each records the log index that added it
  and, once removed, the index that removed it, so the set in force at any log size is
  one indexed query (``selectors.exclusions_at``), not a replay.
- ``LogEntry`` keeps the exact leaf text that was hashed (docs/registry.md, "Leaf format").
- ``MerkleNode`` stores the hash of every complete perfect subtree, keyed by its in-order
  position (``registry.merkle.position``), so roots and proofs need O(log n) reads.
- ``LogHead`` is the single row every append locks; it also holds the right edge of the
  tree (the frontier) so an append computes new nodes without reading any.
- ``SignedCheckpoint`` is one row per tree size the log signed and published.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

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
    added_at_index = models.PositiveBigIntegerField(
        null=True, help_text="Index of the log entry that added it."
    )
    removed_at_index = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Index of the log entry that removed it."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(active=True),
                name="registry_one_active_exclusion_per_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["subject"]),
            models.Index(fields=["added_at_index"], name="registry_exclusion_added"),
            # Exports and releases derived from an earlier checkpoint read the exclusions
            # removed in a range of the log; only removed ones are indexed, so it stays small.
            models.Index(
                fields=["removed_at_index"],
                condition=Q(removed_at_index__isnull=False),
                name="registry_exclusion_removed",
            ),
            # Checks look active exclusions up by subject and read kind and date: answered
            # from this index alone (an index-only scan), without visiting the table.
            models.Index(
                fields=["subject"],
                include=["kind", "created_at"],
                condition=Q(active=True),
                name="registry_active_subject",
            ),
        ]

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
    leaf = models.TextField(help_text="The exact UTF-8 text hashed as this entry's leaf.")

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "log entries"

    def __str__(self) -> str:
        return f"#{self.index} {self.action} {self.kind} {self.subject}"


class LogHead(models.Model):
    """The log's size. One row, locked by every append so indexes are gap-free."""

    size = models.PositiveBigIntegerField(default=0)
    # Hashes of the perfect subtrees making up [0, size), largest first, 32 bytes each.
    frontier = models.BinaryField(default=b"")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="registry_single_log_head")]

    def __str__(self) -> str:
        return f"log size {self.size}"


class MerkleNode(models.Model):
    """The hash of one complete perfect subtree (a leaf is a subtree of one)."""

    position = models.PositiveBigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"node {self.position}"


class SignedCheckpoint(models.Model):
    """A tree size the log signed and published, with its root and signed note."""

    size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"checkpoint at size {self.size}"


class PipelineToken(AbstractAPIKey):
    """An API token for a pipeline: stored hashed by djangorestframework-api-key.

    ``scopes`` is a space-separated list (today only ``registry:read``).
    """

    scopes = models.CharField(max_length=200, default="registry:read")

    objects = APIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "pipeline API token"
        verbose_name_plural = "pipeline API tokens"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class PublishedMirror(models.Model):
    """How far one set of public files (``tiles``, ``ranges``) has been written to the
    public store (``registry.public_store``). Publishers lock the row, so two tasks never
    write the same set at once, and a task whose checkpoint is already out returns."""

    name = models.CharField(max_length=16, unique=True)
    size = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} published to size {self.size}"


# Downstream users and their receipts: a concept of its own, in its own module.
from registry.receipt_models import (  # noqa: E402, F401
    DownstreamKey,
    DownstreamUser,
    Receipt,
    ReceiptLogHead,
    ReceiptNode,
)
