"""The review queue and the request page.

Requests change only through ``request_transition``: the Approve, Reject and Revoke
buttons of the request page and the bulk actions of the queue all call it, with the
reason the owner then reads in their e-mail and on their status page.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from optout.enums import EXCLUDING_STATUSES, RequestStatus, VerificationMethod
from optout.models import RemovalRequest, RequestEvent, RequestSubject, VerificationAttempt
from optout.selectors import request_evidence
from optout.services import TransitionError, request_transition
from registry.admin_base import ReasonForm, RecordAdmin, RecordInline, reason_page
from registry.enums import ExclusionKind
from registry.forges import forges

REVIEW_PERMISSION = "optout.review_removalrequest"
# What each decision does to a request. "Revoke" ends an approved or applied request on
# the maintainers' behalf: its exclusions leave the registry, as when an owner withdraws.
DECISIONS: dict[str, RequestStatus] = {
    "approve": RequestStatus.APPROVED,
    "reject": RequestStatus.REJECTED,
    "revoke": RequestStatus.WITHDRAWN,
}
REASON_REQUIRED = frozenset({"reject", "revoke"})
_DONE = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}
_SUBJECTS_SHOWN = 3


def decisions_for(status: str) -> list[str]:
    """The decisions a maintainer may take on a request in ``status``.

    Withdrawing an open request belongs to its owner; a maintainer turns down an unverified
    or verified one (reject) and ends an approved or applied one (revoke).
    """
    if status in (RequestStatus.PENDING_VERIFICATION, RequestStatus.VERIFIED):
        return ["approve", "reject"] if status == RequestStatus.VERIFIED else ["reject"]
    if status in EXCLUDING_STATUSES:
        return ["revoke"]
    return []


def decide(*, request_id: int, decision: str, user, reason: str) -> RemovalRequest:
    """One decision through the state machine; raises ``TransitionError`` if not allowed."""
    removal_request = RemovalRequest.objects.get(id=request_id)
    if decision not in decisions_for(removal_request.status):
        raise TransitionError(
            f"A request that is {removal_request.get_status_display().lower()} cannot be "
            f"{_DONE[decision]}."
        )
    return request_transition(
        request_id=request_id, to_status=DECISIONS[decision], actor=user, reason=reason
    )


# --- The queue's filters -----------------------------------------------------------------


class QueueStateFilter(admin.SimpleListFilter):
    """By state; with none chosen, the queue: verified requests awaiting review."""

    title = "state"
    parameter_name = "state"
    ALL = "all"
    DEFAULT = RequestStatus.VERIFIED.value

    def lookups(self, request, model_admin):
        labels = {RequestStatus.VERIFIED: "Verified, awaiting review"}
        return [(status.value, labels.get(status, status.label)) for status in RequestStatus]

    def value(self) -> str:
        return super().value() or self.DEFAULT

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": "All",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class MethodFilter(admin.SimpleListFilter):
    """Requests with at least one subject proven by this method."""

    title = "verification method"
    parameter_name = "method"

    def lookups(self, request, model_admin):
        return VerificationMethod.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        proven = RequestSubject.objects.filter(request=OuterRef("pk"), verified_by=self.value())
        return queryset.filter(Exists(proven))


class HostFilter(admin.SimpleListFilter):
    """Requests naming at least one subject on this forge."""

    title = "host"
    parameter_name = "host"

    def lookups(self, request, model_admin):
        return [(host, host) for host in sorted(forges())]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        on_host = RequestSubject.objects.filter(
            request=OuterRef("pk"), subject__startswith=f"{self.value()}/"
        )
        return queryset.filter(Exists(on_host))


# --- Bulk actions ------------------------------------------------------------------------


def _decide_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, decision: str
) -> HttpResponse | None:
    chosen = list(queryset.order_by("created_at"))
    form = None
    if decision in REASON_REQUIRED:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not (form.is_bound and form.is_valid()):
            verb = decision.capitalize()
            return reason_page(
                modeladmin,
                request,
                action=decision,
                title=f"{verb} {len(chosen)} request{'s' if len(chosen) != 1 else ''}",
                explanation=(
                    "Each owner receives this reason by e-mail and sees it on their status "
                    "page. "
                    + ("Their exclusions leave the registry." if decision == "revoke" else "")
                ),
                items=[_describe(r) for r in chosen],
                selected=[r.pk for r in chosen],
                form=form,
                button=verb,
            )
    reason = form.cleaned_data["reason"] if form else ""
    done = 0
    for removal_request in chosen:
        try:
            decide(
                request_id=removal_request.id, decision=decision, user=request.user, reason=reason
            )
        except TransitionError as exc:
            modeladmin.message_user(
                request, f"{removal_request.public_id}: {exc}", messages.WARNING
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} request(s) {_DONE[decision]}.")
    return None


@admin.action(description="Approve selected verified requests", permissions=["review"])
def approve(modeladmin, request, queryset):
    return _decide_selected(modeladmin, request, queryset, "approve")


@admin.action(description="Reject selected requests (asks for a reason)", permissions=["review"])
def reject(modeladmin, request, queryset):
    return _decide_selected(modeladmin, request, queryset, "reject")


@admin.action(
    description="Revoke selected approved or applied requests (asks for a reason)",
    permissions=["review"],
)
def revoke(modeladmin, request, queryset):
    return _decide_selected(modeladmin, request, queryset, "revoke")


def _describe(removal_request: RemovalRequest) -> str:
    subjects = list(
        removal_request.subjects.order_by("subject").values_list("subject", flat=True)[:4]
    )
    shown = ", ".join(subjects[:_SUBJECTS_SHOWN])
    if len(subjects) > _SUBJECTS_SHOWN:
        shown += ", …"
    return f"{removal_request.public_id} ({removal_request.get_status_display().lower()}): {shown}"


# --- Inlines -----------------------------------------------------------------------------


class RequestSubjectInline(RecordInline):
    model = RequestSubject
    fields = ["kind", "subject", "verified_at", "verified_by"]
    readonly_fields = fields


class RequestEventInline(RecordInline):
    model = RequestEvent
    verbose_name = "event"
    verbose_name_plural = "history (what the owner sees)"
    readonly_fields = [
        "created_at",
        "actor_label",
        "from_status",
        "to_status",
        "reason",
        "notified_at",
    ]
    fields = readonly_fields


# --- The pages ---------------------------------------------------------------------------


def _subject_count(**conditions) -> Coalesce:
    """Subjects of the row's request matching ``conditions``, counted in a subquery (one
    index scan per row shown, whatever the size of the queue)."""
    counted = (
        RequestSubject.objects.filter(request=OuterRef("pk"), **conditions)
        .order_by()
        .values("request")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(RecordAdmin):
    """The evidence behind every verification, read-only (also shown on each request)."""

    list_display = ["checked_at", "subject", "method", "succeeded", "duration_ms"]
    list_filter = ["method", "succeeded"]
    search_fields = ["subject__subject", "run__request__public_id"]

    def get_model_perms(self, request):
        return {}  # reached from the request page, not listed on the index


@admin.register(RemovalRequest)
class RemovalRequestAdmin(RecordAdmin):
    """The review queue. Requests change only through ``request_transition``."""

    list_display = [
        "public_id",
        "subjects_shown",
        "kind",
        "methods",
        "age",
        "status",
        "contact_email",
    ]
    list_filter = [
        QueueStateFilter,
        MethodFilter,
        HostFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["public_id", "contact_email", "subjects__subject"]
    search_help_text = "A subject (github.com/owner/name), a contact e-mail or a request id."
    ordering = ["created_at", "id"]  # oldest first: the queue is served in order
    list_per_page = 50
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
    actions = [approve, reject, revoke]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RemovalRequest]:
        first_subjects = RequestSubject.objects.order_by("subject")[: _SUBJECTS_SHOWN + 1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                subject_count=_subject_count(),
                namespace_count=_subject_count(kind=ExclusionKind.NAMESPACE),
                **{
                    f"proven_{method.value}": _subject_count(verified_by=method.value)
                    for method in VerificationMethod
                },
            )
            .prefetch_related(Prefetch("subjects", first_subjects, to_attr="first_subjects"))
        )

    @admin.display(description="subjects", ordering="subject_count")
    def subjects_shown(self, obj: RemovalRequest) -> str:
        shown = ", ".join(s.subject for s in obj.first_subjects[:_SUBJECTS_SHOWN])
        if obj.subject_count > _SUBJECTS_SHOWN:
            shown += f" and {obj.subject_count - _SUBJECTS_SHOWN} more"
        return shown

    @admin.display(description="kind")
    def kind(self, obj: RemovalRequest) -> str:
        if obj.namespace_count == 0:
            return "repository"
        if obj.namespace_count == obj.subject_count:
            return "namespace"
        return "both"

    @admin.display(description="verified by")
    def methods(self, obj: RemovalRequest) -> str:
        proven = [
            method.label
            for method in VerificationMethod
            if getattr(obj, f"proven_{method.value}", 0)
        ]
        return "; ".join(proven) or "—"

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: RemovalRequest) -> str:
        return _age(timezone.now() - obj.created_at)

    def get_urls(self):
        decide_url = path(
            "<int:object_id>/decide/",
            self.admin_site.admin_view(require_POST(self.decide_view)),
            name="optout_removalrequest_decide",
        )
        return [decide_url, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            context["evidence"] = list(request_evidence(obj).select_related("run"))
            if self.has_review_permission(request):
                context["decisions"] = decisions_for(obj.status)
                context["decision_form"] = ReasonForm()
                context["reason_required"] = sorted(REASON_REQUIRED)
        return super().change_view(request, object_id, form_url, context)

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The Approve, Reject and Revoke buttons of the request page."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        removal_request = RemovalRequest.objects.filter(id=object_id).first()
        if removal_request is None:
            raise Http404("No such request.")
        page = reverse("admin:optout_removalrequest_change", args=[object_id])
        decision = request.POST.get("decision", "")
        if decision not in DECISIONS:
            messages.error(request, "Choose Approve, Reject or Revoke.")
            return HttpResponseRedirect(page)
        form = ReasonForm(request.POST)
        reason = form.data.get("reason", "").strip()
        if decision in REASON_REQUIRED:
            if not form.is_valid():
                errors = "; ".join(form.errors["reason"])
                messages.error(
                    request,
                    f"Nothing was changed: give the reason the owner will read ({errors}).",
                )
                return HttpResponseRedirect(page)
            reason = form.cleaned_data["reason"]
        reason = reason[:2000]
        try:
            decide(request_id=object_id, decision=decision, user=request.user, reason=reason)
        except TransitionError as exc:
            messages.error(request, f"Nothing was changed: {exc}")
            return HttpResponseRedirect(page)
        messages.success(
            request,
            format_html(
                'Request <a href="{}">{}</a> {}. The owner is told by e-mail.',
                page,
                removal_request.public_id,
                _DONE[decision],
            ),
        )
        return HttpResponseRedirect(reverse("admin:optout_removalrequest_changelist"))


def _age(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} h"
    return f"{int(delta.total_seconds() // 60)} min"
