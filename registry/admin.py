from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from registry.admin_base import RecordAdmin
from registry.enums import TokenScope
from registry.models import Exclusion, LogEntry, PipelineToken, SignedCheckpoint
from registry.services import RegistryError, exclusion_revoke


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the exclusion ends. It is recorded with the log entry; owners read it.",
    )


@admin.action(description="Revoke selected exclusions (asks for a reason)", permissions=["view"])
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
    exclusions = list(queryset.filter(active=True).order_by("subject"))
    form = RevokeForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        done = 0
        for exclusion in exclusions:
            try:
                removed = exclusion_revoke(
                    exclusion_id=exclusion.id,
                    actor=request.user.get_username(),
                    reason=form.cleaned_data["reason"],
                )
            except RegistryError as exc:
                modeladmin.message_user(request, f"{exclusion.subject}: {exc}", messages.ERROR)
                continue
            done += removed is not None
        modeladmin.message_user(request, f"{done} exclusion(s) revoked.")
        return None
    if not exclusions:
        modeladmin.message_user(request, "None of the selected exclusions is active.")
        return None
    return TemplateResponse(
        request,
        "registry/admin/revoke.html",
        {**modeladmin.admin_site.each_context(request), "exclusions": exclusions, "form": form},
    )


@admin.register(Exclusion)
class ExclusionAdmin(RecordAdmin):
    list_display = ["subject", "kind", "active", "cause", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["subject", "cause"]
    actions = [revoke]


@admin.register(LogEntry)
class LogEntryAdmin(RecordAdmin):
    list_display = ["index", "action", "kind", "subject", "cause", "created_at"]
    list_filter = ["action", "kind"]
    search_fields = ["subject"]


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

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # revoke instead: the row stays as the record of who held access

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
class SignedCheckpointAdmin(RecordAdmin):
    list_display = ["size", "created_at"]
