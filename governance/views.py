"""Public pages: the home page (with the lookup), datasets and their versions, the policy,
and a health check."""

from __future__ import annotations

import math

from django.db import connection
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render

from governance.charts import bar_chart
from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases.layout import dataset_store, final_path
from governance.selectors import next_release_at, published_versions
from governance.version_files import changelog_page, signed_url, version_files
from optout.enums import RequestStatus
from optout.lookup import lookup
from optout.transparency import duration_text, transparency_figures
from registry.identifiers import IdentifierError, parse_identifier
from registry.models import Exclusion
from registry.selectors import log_size
from registry.throttles import PageThrottle

QUERY_MAX = 600


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _lookup_throttled(request: HttpRequest) -> int | None:
    """Seconds until this address may look up again, or None when it may now. When the
    cache is down the lookup is let through (``registry.throttles``)."""
    throttle = PageThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait()))


def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context: dict[str, object] = {"query": query}
    status = 200
    wait = _lookup_throttled(request) if query else None
    if wait is not None:
        context["throttled"] = (
            f"Too many lookups from your network in the last minute. Try again in {wait} seconds."
        )
        response = render(request, "governance/home.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if query:
        try:
            if len(query) > QUERY_MAX:
                raise IdentifierError(
                    f"That is {len(query)} characters long; paste one repository or owner "
                    f"(at most {QUERY_MAX} characters)."
                )
            identifier = parse_identifier(query)
        except IdentifierError as exc:
            context["error"] = str(exc)
            status = 400
        else:
            context["answer"] = lookup(identifier, page=_page_number(request.GET.get("page", "")))
    else:
        context["datasets"] = [
            {
                "dataset": dataset,
                "latest": published_versions(dataset).first(),
                "next_release_at": next_release_at(dataset),
            }
            for dataset in Dataset.objects.order_by("name")
        ]
        context["active_exclusions"] = Exclusion.objects.filter(active=True).count()
        context["log_size"] = log_size()
    return render(request, "governance/home.html", context, status=status)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# --- dataset pages -------------------------------------------------------------------------


def dataset_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "dataset": dataset,
            "latest": published_versions(dataset).first(),
            "versions": published_versions(dataset).count(),
            "next_release_at": next_release_at(dataset),
        }
        for dataset in Dataset.objects.order_by("name")
    ]
    return render(request, "governance/dataset_list.html", {"rows": rows})


def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    context = {
        "dataset": dataset,
        "versions": published_versions(dataset),
        "next_release_at": next_release_at(dataset),
    }
    return render(request, "governance/dataset_detail.html", context)


def _published(name: str, version: str) -> DatasetVersion:
    return get_object_or_404(
        DatasetVersion.objects.select_related("dataset", "previous"),
        dataset__name=name,
        version=version,
        status=VersionStatus.PUBLISHED,
    )


def version_detail(request: HttpRequest, name: str, version: str) -> HttpResponse:
    found = _published(name, version)
    search = request.GET.get("q", "").strip()[:200]
    page = _page_number(request.GET.get("page", ""))
    try:
        changelog = changelog_page(found, search=search, page=page)
    except FileNotFoundError:
        changelog = None
    context = {
        "dataset": found.dataset,
        "version": found,
        "manifest": found.manifest or {},
        "files": version_files(found),
        "changelog": changelog,
        "search": search,
        "reused": found.shards_reused,
    }
    return render(request, "governance/version_detail.html", context)


def version_file(request: HttpRequest, name: str, version: str, path: str) -> HttpResponse:
    """A file the version's manifest lists (or the manifest): streamed from local storage,
    or a redirect to a signed URL on an object store. Any other path is a 404."""
    found = _published(name, version)
    if path not in {entry["path"] for entry in version_files(found)}:
        raise Http404(f"{found.label} has no file {path}")
    store = dataset_store(found.dataset)
    full = f"{final_path(store, found.version)}/{path}"
    if store.local:
        return FileResponse(
            open(full, "rb"),
            as_attachment=True,
            filename=path.rsplit("/", 1)[-1],
        )
    return HttpResponseRedirect(signed_url(store, full))


def policy(request: HttpRequest) -> HttpResponse:
    context = {"datasets": Dataset.objects.order_by("name")}
    return render(request, "governance/policy.html", context)


def transparency(request: HttpRequest) -> HttpResponse:
    figures = transparency_figures()
    context = {
        "figures": figures,
        "durations": {
            "oldest": duration_text(figures.queue_oldest_seconds),
            "approve_median": duration_text(figures.verified_to_approved.median_seconds),
            "approve_p90": duration_text(figures.verified_to_approved.p90_seconds),
            "apply_median": duration_text(figures.approved_to_applied.median_seconds),
            "apply_p90": duration_text(figures.approved_to_applied.p90_seconds),
        },
        "states": [
            (RequestStatus(state).label, count)
            for state, count in figures.requests_by_state.items()
        ],
        "requests_chart": bar_chart(
            [(week[5:], count) for week, count in figures.requests_per_week],
            title="Requests submitted per week",
            chart_id="requests-per-week",
        ),
        "exclusions_chart": bar_chart(
            [(week[5:], count) for week, count in figures.exclusions_per_week],
            title="Active exclusions at the end of each week",
            chart_id="exclusions-per-week",
        ),
        "rows_chart": bar_chart(
            [
                (f"{row['dataset']} {row['version']}", row["rows_removed"])
                for row in figures.rows_removed_per_version[-12:]
            ],
            title="Rows left out of each version",
            chart_id="rows-removed",
        ),
    }
    return render(request, "governance/transparency.html", context)
