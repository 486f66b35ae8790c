"""Project-wide pages: the home page and a health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from governance.models import Dataset
from governance.selectors import next_release_at, published_versions
from registry.models import Exclusion
from registry.selectors import log_size


def home(request: HttpRequest) -> HttpResponse:
    datasets = [
        {
            "dataset": dataset,
            "latest": published_versions(dataset).first(),
            "next_release_at": next_release_at(dataset),
        }
        for dataset in Dataset.objects.order_by("name")
    ]
    context = {
        "active_exclusions": Exclusion.objects.filter(active=True).count(),
        "log_size": log_size(),
        "datasets": datasets,
    }
    return render(request, "governance/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
