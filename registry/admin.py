from django.contrib import admin

from registry.models import Exclusion, LogEntry


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
