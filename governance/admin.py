"""Maintainers manage datasets, start releases and watch them here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion, ShardBuild, VersionVerification
from governance.releases import ReleaseError, release_start
from governance.selectors import next_release_at, release_progress
from registry.admin_base import RecordAdmin, RecordInline


@admin.action(description="Release now")
def release_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for dataset in queryset:
        try:
            version = release_start(
                dataset_id=dataset.id, triggered_by=f"admin: {request.user.get_username()}"
            )
        except ReleaseError as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
        else:
            modeladmin.message_user(
                request,
                format_html(
                    'Started {}. <a href="{}">Watch its progress</a>.',
                    version.label,
                    f"../datasetversion/{version.id}/change/",
                ),
            )


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "source_uri", "repo_column", "implied_host", "release_cadence", "next"]
    actions = [release_now]

    @admin.display(description="next scheduled release")
    def next(self, dataset: Dataset) -> str:
        when = next_release_at(dataset)
        return when.strftime("%Y-%m-%d %H:%M UTC") if when else "manual only"


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
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]
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

    def get_urls(self):
        custom = [
            path(
                "<int:version_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="governance_datasetversion_progress",
            )
        ]
        return custom + super().get_urls()

    def progress_view(self, request: HttpRequest, version_id: int) -> JsonResponse:
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        version = get_object_or_404(DatasetVersion.objects.select_related("dataset"), id=version_id)
        return JsonResponse(release_progress(version))


@admin.register(VersionVerification)
class VersionVerificationAdmin(RecordAdmin):
    """Verifications asked for over the API, with their reports; read only."""

    list_display = ["version", "status", "requested_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["version__dataset"]
    readonly_fields = ["version", "status", "requested_at", "started_at", "finished_at", "report"]
