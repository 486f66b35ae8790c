"""Maintainers start releases, retry failed ones and watch them here.

Reviewers (the "reviewer" group) may start and retry releases; only superusers add or
change datasets. Versions are records: read-only, written by the release services.
"""

from __future__ import annotations

from allauth.account import admin as _account_admin  # noqa: F401 (registers, see below)
from allauth.account.models import EmailAddress
from allauth.socialaccount import admin as _social_admin  # noqa: F401 (registers, see below)
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from governance import admin_versions
from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion, ShardBuild, VersionVerification
from governance.releases import ReleaseError, release_start
from governance.selectors import next_release_at, release_progress
from registry.admin_base import RecordAdmin, RecordInline

RELEASE_PERMISSION = "governance.release_dataset"


def _start(request: HttpRequest, dataset: Dataset, triggered_by: str) -> DatasetVersion | None:
    """Start a release through the release service and say so; None if it cannot start."""
    try:
        version = release_start(dataset_id=dataset.id, triggered_by=triggered_by)
    except ReleaseError as exc:
        messages.warning(request, str(exc))
        return None
    messages.success(
        request,
        format_html(
            'Started {}. <a href="{}">Watch its progress</a>.',
            version.label,
            reverse("admin:governance_datasetversion_change", args=[version.id]),
        ),
    )
    return version


@admin.action(description="Release now", permissions=["release"])
def release_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for dataset in queryset:
        _start(request, dataset, f"admin: {request.user.get_username()}")


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "source_uri", "repo_column", "implied_host", "release_cadence", "next"]
    actions = [release_now]

    @admin.display(description="next scheduled release")
    def next(self, dataset: Dataset) -> str:
        when = next_release_at(dataset)
        return when.strftime("%Y-%m-%d %H:%M UTC") if when else "manual only"

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    # A dataset names storage locations the workers read and write: superusers only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser


class ShardBuildInline(RecordInline):
    model = ShardBuild
    fields = ["name", "action", "status", "rows_in", "rows_out", "bytes", "sha256"]
    readonly_fields = fields


@admin.register(DatasetVersion)
class DatasetVersionAdmin(RecordAdmin):
    """Versions are written by the release services; published ones never change."""

    list_display = [
        "dataset",
        "version",
        "status",
        "progress",
        "log_size",
        "rows_in",
        "rows_out",
        "published_at",
    ]
    list_filter = ["dataset", "status"]
    list_select_related = ["dataset"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "dataset",
                    "version",
                    "status",
                    "step",
                    "previous",
                    "triggered_by",
                    "created_at",
                    "published_at",
                    "error",
                    "verifications",
                ]
            },
        ),
        (
            "Counts",
            {
                "fields": [
                    ("shards_total", "shards_done", "shards_reused"),
                    ("rows_total", "rows_in", "rows_out"),
                ]
            },
        ),
        ("Registry checkpoint applied", {"fields": ["log_size", "root_hash", "note"]}),
        (
            "Manifest",
            {"fields": ["manifest_sha256", "manifest_source", "manifest_files", "manifest_schema"]},
        ),
        ("Changelog", {"fields": ["changelog"]}),
    ]
    readonly_fields = [
        *(f.name for f in DatasetVersion._meta.fields),
        "verifications",
        "note",
        "manifest_source",
        "manifest_files",
        "manifest_schema",
        "changelog",
    ]
    inlines = [ShardBuildInline]
    change_form_template = "governance/admin/version_change_form.html"

    @admin.display(description="progress")
    def progress(self, version: DatasetVersion) -> str:
        if version.status != VersionStatus.BUILDING:
            return f"{version.shards_done}/{version.shards_total} shards"
        data = release_progress(version)
        return (
            f"{data['step']}: {data['shards_done']}/{data['shards_total']} shards, "
            f"{data['rows_done']}/{data['rows_total']} rows"
        )

    @admin.display(description="signed checkpoint")
    def note(self, version: DatasetVersion):
        return format_html("<pre>{}</pre>", version.checkpoint_note) if version else "—"

    @admin.display(description="source")
    def manifest_source(self, version: DatasetVersion):
        return admin_versions.manifest_source(version)

    @admin.display(description="files")
    def manifest_files(self, version: DatasetVersion):
        return admin_versions.manifest_files(version)

    @admin.display(description="schema")
    def manifest_schema(self, version: DatasetVersion):
        return admin_versions.manifest_schema(version)

    @admin.display(description="changes")
    def changelog(self, version: DatasetVersion):
        return admin_versions.changelog_shown(version)

    @admin.display(description="verifications")
    def verifications(self, version: DatasetVersion):
        count = version.verifications.count()
        if not count:
            return "none asked for"
        url = reverse("admin:governance_versionverification_changelist")
        return format_html('<a href="{}?version__id__exact={}">{}</a>', url, version.id, count)

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    def get_urls(self):
        custom = [
            path(
                "<int:version_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="governance_datasetversion_progress",
            ),
            path(
                "<int:version_id>/retry/",
                self.admin_site.admin_view(require_POST(self.retry_view)),
                name="governance_datasetversion_retry",
            ),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        context = dict(extra_context or {})
        context["can_retry"] = (
            version is not None
            and version.status == VersionStatus.FAILED
            and self.has_release_permission(request)
        )
        return super().change_view(request, object_id, form_url, context)

    def progress_view(self, request: HttpRequest, version_id: int) -> JsonResponse:
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), id=version_id)
        return JsonResponse(release_progress(version))

    def retry_view(self, request: HttpRequest, version_id: int) -> HttpResponse:
        """A failed release is retried as a new release of its dataset (a failed version
        keeps its number, so the retry takes the next one)."""
        if not self.has_release_permission(request):
            raise PermissionDenied
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), id=version_id)
        if version.status != VersionStatus.FAILED:
            messages.warning(
                request, f"{version.label} is {version.status}; only a failed release is retried."
            )
            return HttpResponseRedirect(
                reverse("admin:governance_datasetversion_change", args=[version.id])
            )
        started = _start(
            request,
            version.dataset,
            f"admin retry of {version.version}: {request.user.get_username()}",
        )
        target = started or version
        return HttpResponseRedirect(
            reverse("admin:governance_datasetversion_change", args=[target.id])
        )


@admin.register(VersionVerification)
class VersionVerificationAdmin(RecordAdmin):
    """Verifications asked for over the API, with their reports; read only."""

    list_display = ["version", "status", "requested_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["version__dataset"]
    readonly_fields = ["version", "status", "requested_at", "started_at", "finished_at", "report"]

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}  # reached from each version's page, not listed on the index


# The index shows what maintainers use. Forge sign-in is configured through the
# environment, and allauth's stored accounts, e-mail addresses and tokens (secrets) are
# nothing to edit by hand, so their pages go. Their admin modules are imported above so
# that this does not depend on the order of INSTALLED_APPS.
for _model in (EmailAddress, SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
