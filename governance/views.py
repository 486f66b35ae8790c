"""Project-wide pages: the home page and a health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from registry.models import Exclusion
from registry.selectors import log_size


def home(request: HttpRequest) -> HttpResponse:
    latest = (
        DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("dataset")
        .order_by("-published_at")
        .first()
    )
    context = {
        "active_exclusions": Exclusion.objects.filter(active=True).count(),
        "log_size": log_size(),
        "latest_version": latest,
    }
    return render(request, "governance/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
