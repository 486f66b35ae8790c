"""Admin pages for downstream users, their keys and receipts (``registry.receipts``).

Maintainers register a downstream user and add or revoke its keys; each write goes through
the service (the forms run the service's own checks, then the service saves). Nothing is
changed or deleted afterwards, and receipts are read-only records.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from registry.admin_base import RecordAdmin, RecordInline
from registry.models import DownstreamKey, DownstreamUser, Receipt
from registry.receipts import (
    ReceiptRefused,
    downstream_key_add,
    downstream_key_check,
    downstream_key_revoke,
    downstream_user_check,
    downstream_user_register,
)


class _AddOnly(admin.ModelAdmin):
    """Add through a service; never change or delete."""

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DownstreamUserForm(forms.ModelForm):
    class Meta:
        model = DownstreamUser
        fields = ["name", "description", "token"]

    def clean_name(self) -> str:
        try:
            downstream_user_check(name=self.cleaned_data["name"])
        except ReceiptRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["name"]


class KeyInline(RecordInline):
    model = DownstreamKey
    fields = ["key_name", "verifier_key", "created_at", "revoked_at"]
    readonly_fields = fields


class ReceiptInline(RecordInline):
    model = Receipt
    fields = ["index", "dataset", "checkpoint_size", "applied_at", "received_at"]
    readonly_fields = fields
    ordering = ["-index"]


@admin.register(DownstreamUser)
class DownstreamUserAdmin(_AddOnly):
    form = DownstreamUserForm
    list_display = ["name", "description", "token", "created_at"]
    search_fields = ["name"]
    inlines = [KeyInline, ReceiptInline]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["name", "description", "token", "created_at"] if obj else []

    def get_inlines(self, request: HttpRequest, obj: object = None) -> list:
        return self.inlines if obj else []  # a new user has no keys or receipts yet

    def save_model(self, request, obj, form, change) -> None:
        created = downstream_user_register(
            name=form.cleaned_data["name"],
            token=form.cleaned_data["token"],
            description=form.cleaned_data["description"],
        )
        obj.pk = created.pk


class DownstreamKeyForm(forms.ModelForm):
    class Meta:
        model = DownstreamKey
        fields = ["user", "verifier_key"]
        help_texts = {"verifier_key": "The line `python -m registry.client keygen` printed."}

    def clean_verifier_key(self) -> str:
        try:
            downstream_key_check(verifier_key=self.cleaned_data["verifier_key"])
        except ReceiptRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["verifier_key"]


@admin.action(description="Revoke selected keys (receipts they signed stay)")
def revoke_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    keys = [downstream_key_revoke(key_id=key.id) for key in queryset]
    modeladmin.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)


@admin.register(DownstreamKey)
class DownstreamKeyAdmin(_AddOnly):
    form = DownstreamKeyForm
    list_display = ["key_name", "user", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    actions = [revoke_keys]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["user", "verifier_key", "key_name", "created_at", "revoked_at"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        created = downstream_key_add(
            user=form.cleaned_data["user"], verifier_key=form.cleaned_data["verifier_key"]
        )
        obj.pk = created.pk


@admin.register(Receipt)
class ReceiptAdmin(RecordAdmin):
    list_display = ["index", "user", "dataset", "checkpoint_size", "applied_at", "received_at"]
    list_filter = ["user"]
    search_fields = ["dataset", "user__name"]
    readonly_fields = [
        "index", "user", "key", "dataset", "manifest_sha256", "checkpoint_size",
        "applied_at", "received_at", "note", "leaf",
    ]  # fmt: skip
    exclude = ["checkpoint_root"]
