from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.models import Dataset, DatasetVersion
from governance.releases import ReleaseError, release_start


@admin.action(description="Release now")
def release_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for dataset in queryset:
        try:
            version = release_start(dataset_id=dataset.id)
        except ReleaseError as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
        else:
            modeladmin.message_user(request, f"Started {version.label}.")


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "source_uri", "repo_column", "implied_host"]
    actions = [release_now]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = [
        "dataset",
        "version",
        "status",
        "log_size",
        "rows_in",
        "rows_out",
        "published_at",
    ]
    list_filter = ["dataset", "status"]
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
