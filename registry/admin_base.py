"""Admin pages for records that only services write: maintainers read them, nothing more.

Every model whose rows are history (requests, their subjects and events, exclusions, log
entries, checkpoints, versions) is shown through ``RecordAdmin``: no add, no change, no
delete, so no admin form or bulk action can write one behind its service's back. Changes
are admin actions that call the service (approve, reject, revoke).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class RecordAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RecordInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
