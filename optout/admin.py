from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from optout.enums import RequestStatus
from optout.models import RemovalRequest, RequestEvent, RequestSubject, VerificationAttempt
from optout.services import TransitionError, request_transition


class RequestSubjectInline(admin.TabularInline):
    model = RequestSubject
    extra = 0
    readonly_fields = ["kind", "subject", "verified_at", "verified_by"]
    can_delete = False


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(admin.ModelAdmin):
    """The evidence behind every verification, read-only."""

    list_display = ["checked_at", "subject", "method", "succeeded", "duration_ms"]
    list_filter = ["method", "succeeded"]
    search_fields = ["subject__subject", "run__request__public_id"]
    readonly_fields = [
        "run",
        "subject",
        "method",
        "succeeded",
        "message",
        "evidence",
        "checked_at",
        "duration_ms",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    readonly_fields = [
        "created_at",
        "actor_label",
        "from_status",
        "to_status",
        "reason",
        "notified_at",
    ]
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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


@admin.action(description="Approve selected verified requests")
def approve(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _transition_selected(modeladmin, request, queryset, RequestStatus.APPROVED)


@admin.action(description="Reject selected requests")
def reject(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _transition_selected(modeladmin, request, queryset, RequestStatus.REJECTED)


@admin.register(RemovalRequest)
class RemovalRequestAdmin(admin.ModelAdmin):
    list_display = ["public_id", "status", "contact_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "contact_email", "subjects__subject"]
    readonly_fields = [
        "public_id",
        "status",
        "verification_token",
        "expires_at",
        "applied_from_log_size",
        "created_at",
        "updated_at",
    ]
    fields = ["public_id", "status", "contact_email", "reason", *readonly_fields[2:]]
    inlines = [RequestSubjectInline, RequestEventInline]
    actions = [approve, reject]
