"""Downstream users, their keys, and their receipts with the receipts log's tree.

A *downstream user* is a pipeline that builds its own dataset or model from ours. It
registers Ed25519 keys (maintainers add them in the admin, through ``registry.receipts``)
and posts *receipts*: signed notes saying it applied a checkpoint of the registry to a named
dataset. Receipts are appended to a log of their own, hashed as RFC 6962 leaves like the
registry's log, with stored subtrees (``ReceiptNode``) and a head holding the frontier, so
the same proofs apply. Rows are only ever appended; keys are revoked, never deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DownstreamUser(models.Model):
    name = models.SlugField(max_length=100, unique=True, help_text="Shown on the public page.")
    description = models.CharField(max_length=300, blank=True)
    token = models.ForeignKey(
        "registry.PipelineToken",
        on_delete=models.PROTECT,
        related_name="downstream_users",
        help_text="The pipeline token it posts receipts with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DownstreamKey(models.Model):
    user = models.ForeignKey(DownstreamUser, on_delete=models.PROTECT, related_name="keys")
    # C2SP verifier key text: name+keyid+base64(0x01 ‖ Ed25519 public key).
    verifier_key = models.CharField(max_length=300)
    key_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key_name"],
                condition=Q(revoked_at__isnull=True),
                name="registry_one_live_downstream_key_per_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_name}{' (revoked)' if self.revoked_at else ''}"


class Receipt(models.Model):
    index = models.PositiveBigIntegerField(unique=True, help_text="Position in the receipts log.")
    user = models.ForeignKey(DownstreamUser, on_delete=models.PROTECT, related_name="receipts")
    key = models.ForeignKey(DownstreamKey, on_delete=models.PROTECT, related_name="receipts")
    dataset = models.CharField(max_length=200)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    checkpoint_size = models.PositiveBigIntegerField()
    checkpoint_root = models.BinaryField(max_length=32)
    applied_at = models.DateTimeField(help_text="When the pipeline says it applied it.")
    received_at = models.DateTimeField()
    note = models.TextField(help_text="The signed receipt, as posted.")
    leaf = models.TextField(help_text="The exact text hashed as this receipt's leaf.")

    class Meta:
        ordering = ["index"]
        indexes = [
            models.Index(fields=["user", "-checkpoint_size"], name="registry_receipt_newest")
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.user} applied {self.checkpoint_size} to {self.dataset}"


class ReceiptNode(models.Model):
    """A complete perfect subtree of the receipts log (``registry.merkle.position``)."""

    position = models.PositiveBigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"receipt node {self.position}"


class ReceiptLogHead(models.Model):
    """The receipts log's size and frontier; one row, locked by every append."""

    size = models.PositiveBigIntegerField(default=0)
    frontier = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="registry_single_receipt_log_head")
        ]

    def __str__(self) -> str:
        return f"receipts log size {self.size}"
