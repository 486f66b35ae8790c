from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from optout.enums import RequestStatus
from optout.models import RemovalRequest, RequestEvent, RequestSubject, VerificationAttempt
from optout.services import TransitionError, request_transition
from registry.admin_base import RecordAdmin, RecordInline


class RequestSubjectInline(RecordInline):
    model = RequestSubject
    fields = ["kind", "subject", "verified_at", "verified_by"]
    readonly_fields = fields


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(RecordAdmin):
    """The evidence behind every verification, read-only."""

    list_display = ["checked_at", "subject", "method", "succeeded", "duration_ms"]
    list_filter = ["method", "succeeded"]
    search_fields = ["subject__subject", "run__request__public_id"]


class RequestEventInline(RecordInline):
    model = RequestEvent
    readonly_fields = [
        "created_at",
        "actor_label",
        "from_status",
        "to_status",
        "reason",
        "notified_at",
    ]
    fields = readonly_fields


def _transition_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, to_status: RequestStatus
) -> None:
    done = 0
    for removal_request in queryset:
        try:
            request_transition(
                request_id=removal_request.id,
                to_status=to_status,
                actor=request.user,
                reason=f"{to_status.label.lower()} in the admin",
            )
            done += 1
        except TransitionError as exc:
            modeladmin.message_user(
                request, f"{removal_request.public_id}: {exc}", messages.WARNING
            )
    if done:
        modeladmin.message_user(request, f"{done} request(s) {to_status.label.lower()}.")


@admin.action(description="Approve selected verified requests", permissions=["view"])
def approve(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _transition_selected(modeladmin, request, queryset, RequestStatus.APPROVED)


@admin.action(description="Reject selected requests", permissions=["view"])
def reject(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _transition_selected(modeladmin, request, queryset, RequestStatus.REJECTED)


@admin.register(RemovalRequest)
class RemovalRequestAdmin(RecordAdmin):
    """Requests change only through ``request_transition``: the actions below."""

    list_display = ["public_id", "status", "contact_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "contact_email", "subjects__subject"]
    fields = [
        "public_id",
        "status",
        "contact_email",
        "reason",
        "verification_token",
        "expires_at",
        "applied_from_log_size",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [RequestSubjectInline, RequestEventInline]
    actions = [approve, reject]
