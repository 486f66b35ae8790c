"""Admin pages for records that only services write: maintainers read them, nothing more.

Every model whose rows are history (requests, their subjects and events, exclusions, log
entries, checkpoints, versions) is shown through ``RecordAdmin``: no add, no change, no
delete, so no admin form or bulk action can write one behind its service's back. Changes
are admin actions that call the service (approve, reject, revoke); those that need a
reason ask for it on an intermediate page (``reason_page``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class _NoWrites:
    """Refuses every write permission, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RecordAdmin(_NoWrites, admin.ModelAdmin):
    pass


class RecordInline(_NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False
    template = "admin/edit_inline/record_table.html"  # rows only: nothing here is edited


class ReasonForm(forms.Form):
    """The reason a maintainer gives for a decision; the people it affects read it."""

    reason = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The owner reads this reason in their e-mail and on their status page.",
    )


def reason_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    explanation: str,
    items: list[str],
    selected: list[object],
    form: ReasonForm,
    button: str,
) -> TemplateResponse:
    """The intermediate page of a bulk action that needs a reason (reject, revoke).

    It posts back to the changelist with the same action and selection plus ``apply``,
    so the action runs again, this time with the reason.
    """
    return TemplateResponse(
        request,
        "admin/action_reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": title,
            "explanation": explanation,
            "items": items,
            "selected": selected,
            "action": action,
            "form": form,
            "button": button,
        },
    )
