from django import forms
from django.contrib import admin, messages

from registry.enums import TokenScope
from registry.models import Exclusion, LogEntry, PipelineToken, SignedCheckpoint


@admin.register(Exclusion)
class ExclusionAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "active", "cause", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["subject", "cause"]
    readonly_fields = [
        "kind",
        "subject",
        "active",
        "cause",
        "created_at",
        "updated_at",
        "removed_reason",
    ]

    def has_add_permission(self, request) -> bool:  # writes go through registry services
        return False


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["index", "action", "kind", "subject", "cause", "created_at"]
    list_filter = ["action", "kind"]
    search_fields = ["subject"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PipelineTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = PipelineToken
        fields = ["name", "scopes", "expiry_date", "revoked"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scopes"] = self.instance.scopes.split()

    def clean_scopes(self) -> str:
        return " ".join(sorted(self.cleaned_data["scopes"]))


@admin.register(PipelineToken)
class PipelineTokenAdmin(admin.ModelAdmin):
    """Maintainers create tokens here; the secret is shown once, in a message."""

    form = PipelineTokenForm

    list_display = ["prefix", "name", "scopes", "created", "expiry_date", "revoked"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix"]
    fields = ["name", "scopes", "expiry_date", "revoked", "prefix", "created"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        if obj is None:
            return ["prefix", "created"]
        if obj.revoked:  # revocation is final: nothing about a revoked token changes
            return ["name", "scopes", "expiry_date", "revoked", "prefix", "created"]
        return ["scopes", "prefix", "created"]

    def save_model(self, request, obj: PipelineToken, form, change: bool) -> None:
        if change:
            obj.save()
            return
        key = PipelineToken.objects.assign_key(obj)
        obj.save()
        messages.warning(
            request,
            f"The token for {obj.name} is {key} . Copy it now: it is stored only as a hash "
            "and cannot be shown again.",
        )


@admin.register(SignedCheckpoint)
class SignedCheckpointAdmin(admin.ModelAdmin):
    list_display = ["size", "created_at"]
    readonly_fields = ["size", "root_hash", "note", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
