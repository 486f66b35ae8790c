from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from registry.admin_base import ReasonForm, RecordAdmin, reason_page
from registry.enums import TokenScope
from registry.models import Exclusion, LogEntry, PipelineToken, SignedCheckpoint
from registry.services import RegistryError, exclusion_revoke

REVOKE_PERMISSION = "registry.revoke_exclusion"


@admin.action(description="Revoke selected exclusions (asks for a reason)", permissions=["revoke"])
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
    exclusions = list(queryset.filter(active=True).order_by("subject"))
    if not exclusions:
        modeladmin.message_user(request, "None of the selected exclusions is active.")
        return None
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if not (form.is_bound and form.is_valid()):
        return reason_page(
            modeladmin,
            request,
            action="revoke",
            title=f"Revoke {len(exclusions)} exclusion{pluralize(len(exclusions))}",
            explanation=(
                "The repositories come back in the next dataset version. Each revocation is "
                "a signed entry in the public log, and the reason below is recorded with it. "
                "The owners of the requests behind each exclusion get an e-mail with the "
                "reason, and read it on their status page."
            ),
            items=[f"{e.get_kind_display()} {e.subject} (caused by {e.cause})" for e in exclusions],
            selected=[e.pk for e in exclusions],
            form=form,
            button="Revoke",
        )
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


@admin.register(Exclusion)
class ExclusionAdmin(RecordAdmin):
    list_display = ["subject", "kind", "active", "caused_by", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["subject", "cause"]
    actions = [revoke]

    @admin.display(description="cause", ordering="cause")
    def caused_by(self, exclusion: Exclusion) -> str:
        """A request's exclusion links to its request (found by the admin URL's name: the
        registry imports nothing of the apps above it)."""
        kind, _, public_id = exclusion.cause.partition(":")
        if kind != "optout.request":
            return exclusion.cause
        url = reverse("admin:optout_removalrequest_changelist")
        return format_html(
            '<a href="{}?state=all&amp;q={}">request {}</a>', url, public_id, public_id
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVOKE_PERMISSION)


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


NO_EXPIRY_HELP = (
    "When the token stops working. Leave it empty only for a token that must never expire: "
    "such a token is flagged in the list until it is revoked."
)


@admin.register(PipelineToken)
class PipelineTokenAdmin(admin.ModelAdmin):
    """Superusers create tokens here; the secret is shown once, in a message with a copy
    button. Reviewers see nothing of tokens."""

    form = PipelineTokenForm

    list_display = ["prefix", "name", "scopes", "created", "expires", "revoked"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix"]
    fields = ["name", "scopes", "expiry_date", "revoked", "prefix", "created"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        if obj is None:
            return ["prefix", "created"]
        if obj.revoked:  # revocation is final: nothing about a revoked token changes
            return ["name", "scopes", "expiry_date", "revoked", "prefix", "created"]
        return ["scopes", "prefix", "created"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # revoke instead: the row stays as the record of who held access

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "expiry_date" in form.base_fields:
            form.base_fields["expiry_date"].help_text = NO_EXPIRY_HELP
        return form

    @admin.display(description="expires", ordering="expiry_date")
    def expires(self, token: PipelineToken) -> str:
        if token.expiry_date is None:
            if token.revoked:
                return "never (revoked)"
            return format_html('<strong class="no-expiry">{}</strong>', "never: no expiry date")
        return token.expiry_date.strftime("%Y-%m-%d %H:%M UTC")

    def save_model(self, request, obj: PipelineToken, form, change: bool) -> None:
        if not change:
            key = PipelineToken.objects.assign_key(obj)
        obj.save()
        if not change:
            messages.warning(
                request,
                format_html(
                    'The token for {} is <code id="once-shown-key">{}</code> '
                    '<button type="button" class="copy-button" data-copy="once-shown-key">'
                    "Copy</button> Copy it now: it is stored only as a hash and cannot be "
                    "shown again.",
                    obj.name,
                    key,
                ),
            )
        if obj.expiry_date is None and not obj.revoked:
            messages.warning(
                request,
                f"The token for {obj.name} never expires. Set an expiry date unless the "
                "pipeline truly needs a token for ever; revoke it when it is no longer used.",
            )


@admin.register(SignedCheckpoint)
class SignedCheckpointAdmin(RecordAdmin):
    list_display = ["size", "created_at"]

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}  # the public API serves checkpoints; kept off the index
