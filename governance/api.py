"""Datasets in the API: datasets, versions and manifests, changelogs, verification, the
lookup of a repository or an owner, and the transparency figures."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from governance.enums import VerificationStatus, VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases.verify import verification_request
from governance.selectors import next_release_at, published_versions
from governance.version_files import CHANGELOG_PAGE, changelog_page
from optout.lookup import lookup
from optout.transparency import transparency_figures
from registry.api.common import (
    ErrorSerializer,
    NamespaceField,
    RepositoryField,
    StrictCharField,
    reject_blank,
)
from registry.enums import ExclusionKind
from registry.identifiers import IdentifierError, parse_identifier

# The URL patterns' rules, stated in the schema (governance/api_urls.py: a slug, and the
# semantic version every release is numbered with).
_NAME = OpenApiParameter(
    "name",
    {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "maxLength": 100},
    OpenApiParameter.PATH,
    description="The dataset's name.",
    examples=[OpenApiExample("The demo dataset", value="demo")],
)
_VERSION = OpenApiParameter(
    "version",
    {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$", "maxLength": 32},
    OpenApiParameter.PATH,
    description="A published version.",
    examples=[OpenApiExample("The first version", value="1.0.0")],
)


class VersionSummarySerializer(serializers.Serializer):
    version = serializers.CharField()
    published_at = serializers.DateTimeField()
    log_size = serializers.IntegerField(help_text="Registry log size (checkpoint) applied.")
    root_hash = serializers.CharField(help_text="Checkpoint root hash, base64.")
    rows = serializers.IntegerField(source="rows_out")
    manifest_sha256 = serializers.CharField()


class DatasetListView(APIView):
    class DatasetSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        license = serializers.CharField()
        repo_column = serializers.CharField()
        implied_host = serializers.CharField()
        release_cadence_seconds = serializers.IntegerField(allow_null=True)
        next_release_at = serializers.DateTimeField(allow_null=True)
        latest_version = VersionSummarySerializer(allow_null=True)

    @extend_schema(operation_id="dataset_list", responses=DatasetSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = []
        for dataset in Dataset.objects.order_by("name"):
            cadence = dataset.release_cadence
            rows.append(
                {
                    "name": dataset.name,
                    "description": dataset.description,
                    "license": dataset.license,
                    "repo_column": dataset.repo_column,
                    "implied_host": dataset.implied_host,
                    "release_cadence_seconds": int(cadence.total_seconds()) if cadence else None,
                    "next_release_at": next_release_at(dataset),
                    "latest_version": published_versions(dataset).first(),
                }
            )
        return Response(self.DatasetSerializer(rows, many=True).data)


class DatasetVersionListView(APIView):
    class DatasetVersionSerializer(VersionSummarySerializer):
        manifest = serializers.JSONField(help_text="The version's manifest.json (see docs).")

    @extend_schema(
        operation_id="dataset_versions",
        parameters=[_NAME],
        responses={
            200: DatasetVersionSerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, description="No dataset of that name."),
        },
    )
    def get(self, request: Request, name: str) -> Response:
        dataset = get_object_or_404(Dataset, name=name)
        versions = published_versions(dataset)
        return Response(self.DatasetVersionSerializer(versions, many=True).data)


class VerifyThrottle(AnonRateThrottle):
    # Asking for a verification queues a re-hash of every byte of a version: rate-limited
    # apart from cheap calls. Joining the run already open costs nothing, but counts too.
    scope = "verify"
    rate = "10/hour"


class VersionVerifyView(APIView):
    """A version's verification: ``POST`` asks for one (a task), ``GET`` shows the latest."""

    class OffendingRowSerializer(serializers.Serializer):
        path = serializers.CharField()
        row = serializers.IntegerField()
        repository = serializers.CharField()
        exclusion = serializers.CharField()

    class VerifyReportSerializer(serializers.Serializer):
        dataset = serializers.CharField()
        version = serializers.CharField()
        ok = serializers.BooleanField()
        files_checked = serializers.IntegerField()
        rows_checked = serializers.IntegerField()
        problems = serializers.ListField(child=serializers.CharField())
        offending_count = serializers.IntegerField()
        offending = serializers.ListField(child=serializers.DictField())

    class VerificationSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.ChoiceField(choices=VerificationStatus.choices)
        requested_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)
        report = serializers.JSONField(
            allow_null=True, help_text="Once finished: the report (see VerifyReport)."
        )

    def get_throttles(self):
        return [VerifyThrottle()] if self.request.method == "POST" else []

    def _version(self, name: str, version: str) -> DatasetVersion:
        return get_object_or_404(
            DatasetVersion.objects.select_related("dataset"),
            dataset__name=name,
            version=version,
            status=VersionStatus.PUBLISHED,
        )

    @extend_schema(
        operation_id="version_verification_latest",
        parameters=[_NAME, _VERSION],
        responses={200: VerificationSerializer, 404: OpenApiResponse(ErrorSerializer)},
        description=(
            "The latest verification of a published version: queued, running, passed or "
            "failed, with its report once finished. 404 until one was asked for (POST)."
        ),
    )
    def get(self, request: Request, name: str, version: str) -> Response:
        found = self._version(name, version)
        latest = found.verifications.first()
        if latest is None:
            raise NotFound(
                f"{found.label} was never verified over the API; POST to this address to "
                "start a verification."
            )
        return Response(self.VerificationSerializer(latest).data)

    @extend_schema(
        operation_id="version_verification_request",
        parameters=[_NAME, _VERSION],
        request=None,
        responses={
            202: VerificationSerializer,
            200: VerificationSerializer,
            404: OpenApiResponse(ErrorSerializer),
            429: OpenApiResponse(ErrorSerializer),
        },
        description=(
            "Re-hash every file of the version and prove no repository excluded at its "
            "checkpoint remains, as `manage.py verify_version` does, in a task. 202 with the "
            "new run; 200 with the run already queued or running, which this call joins. "
            "Then GET this address until `status` is `passed` or `failed`."
        ),
    )
    def post(self, request: Request, name: str, version: str) -> Response:
        run, created = verification_request(version=self._version(name, version))
        run.refresh_from_db()  # a worker may have started or finished it already
        response = Response(
            self.VerificationSerializer(run).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )
        response["Location"] = request.path
        return response


class LookupView(APIView):
    """Which published versions of a dataset hold a repository, or an owner's repositories."""

    class LookupQuerySerializer(serializers.Serializer):
        repo = RepositoryField(required=False)
        owner = NamespaceField(required=False)
        page = serializers.IntegerField(required=False, min_value=1, default=1)

        def validate(self, data: dict) -> dict:
            if ("repo" in data) == ("owner" in data):
                raise serializers.ValidationError(
                    {"repo": ["Give exactly one of repo=owner/name or owner=host/owner."]}
                )
            return data

    class VersionHitSerializer(serializers.Serializer):
        version = serializers.CharField(source="version.version")
        published_at = serializers.DateTimeField(source="version.published_at")
        indexed = serializers.BooleanField(
            help_text="False for a version published before versions listed their repositories."
        )
        present = serializers.BooleanField()
        rows = serializers.IntegerField()
        shards = serializers.ListField(child=serializers.CharField(), help_text="Data files.")
        repositories = serializers.IntegerField(help_text="For an owner: its repositories.")

    class OwnerRepositorySerializer(serializers.Serializer):
        repository = serializers.CharField()
        rows = serializers.IntegerField()

    class LookupSerializer(serializers.Serializer):
        dataset = serializers.CharField()
        kind = serializers.CharField(help_text="repository or namespace")
        canonical = serializers.CharField()
        excluded = serializers.BooleanField(help_text="An active exclusion covers it now.")
        excluded_by = serializers.CharField(allow_null=True)
        pending = serializers.BooleanField(
            help_text="An open request naming it awaits proof or review."
        )
        applied_in_version = serializers.CharField(
            allow_null=True, help_text="The first version built without it."
        )
        next_release_at = serializers.DateTimeField(allow_null=True)
        versions = serializers.ListField(child=serializers.DictField())
        repositories = serializers.DictField(
            allow_null=True,
            help_text="For an owner: {version, count, rows, page, pages, items: "
            "[{repository, rows}]} in the latest version.",
        )

    @extend_schema(
        operation_id="dataset_lookup",
        parameters=[_NAME, LookupQuerySerializer],
        responses={
            200: LookupSerializer,
            400: OpenApiResponse(ErrorSerializer),
            404: OpenApiResponse(ErrorSerializer),
            429: OpenApiResponse(ErrorSerializer),
        },
        description=(
            "Is a repository (repo=) or an owner (owner=) in this dataset? Give exactly one "
            "of the two. Every published "
            "version (newest first, up to 20) with its rows, whether it is excluded now, "
            "pending, and the version that first left it out. For an owner, its "
            "repositories in the latest version, 50 a page."
        ),
    )
    def get(self, request: Request, name: str) -> Response:
        dataset = get_object_or_404(Dataset, name=name)
        reject_blank(request.query_params, "page")
        params = self.LookupQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        field = "repo" if "repo" in params.validated_data else "owner"
        try:
            identifier = parse_identifier(params.validated_data[field])
        except IdentifierError as exc:
            raise serializers.ValidationError({field: [str(exc)]}) from None
        wanted = ExclusionKind.REPOSITORY if field == "repo" else ExclusionKind.NAMESPACE
        if identifier.kind != wanted:
            raise serializers.ValidationError(
                {
                    field: [
                        "That is an owner: ask with owner=."
                        if field == "repo"
                        else "That is a repository: ask with repo=."
                    ]
                }
            )
        page = params.validated_data["page"]
        answer = lookup(identifier, datasets=[dataset], page=page)
        row = answer.datasets[0]
        repositories = None
        if row.page is not None:
            repositories = {
                "version": row.latest.version.version,
                "count": row.page.repositories,
                "rows": row.page.rows,
                "page": page,
                "pages": row.pages,
                "items": self.OwnerRepositorySerializer(row.page.items, many=True).data,
            }
        return Response(
            {
                "dataset": dataset.name,
                "kind": identifier.kind,
                "canonical": identifier.canonical,
                "excluded": answer.exclusion is not None,
                "excluded_by": answer.exclusion.subject if answer.exclusion else None,
                "pending": answer.pending,
                "applied_in_version": row.applied_in.version if row.applied_in else None,
                "next_release_at": row.next_release_at,
                "versions": self.VersionHitSerializer(row.versions, many=True).data,
                "repositories": repositories,
            }
        )


class ChangelogView(APIView):
    class ChangelogSerializer(serializers.Serializer):
        dataset = serializers.CharField()
        version = serializers.CharField()
        previous_version = serializers.CharField(allow_null=True)
        checkpoint = serializers.DictField(help_text="{from, to}: registry log sizes.")
        totals = serializers.DictField()
        count = serializers.IntegerField(help_text="Entries matching the search.")
        page = serializers.IntegerField()
        pages = serializers.IntegerField()
        entries = serializers.ListField(
            child=serializers.DictField(),
            help_text="{change: removed|reincluded, exclusion, kind, repositories, rows}",
        )

    class ChangelogQuerySerializer(serializers.Serializer):
        q = StrictCharField(
            required=False, allow_blank=True, max_length=200, help_text="Search text; empty: all."
        )
        page = serializers.IntegerField(required=False, min_value=1, default=1)

    @extend_schema(
        operation_id="version_changelog",
        parameters=[_NAME, _VERSION, ChangelogQuerySerializer],
        responses={200: ChangelogSerializer, 404: OpenApiResponse(ErrorSerializer)},
        description="A published version's changelog, 100 entries a page, searchable.",
    )
    def get(self, request: Request, name: str, version: str) -> Response:
        found = get_object_or_404(
            DatasetVersion.objects.select_related("dataset"),
            dataset__name=name,
            version=version,
            status=VersionStatus.PUBLISHED,
        )
        reject_blank(request.query_params, "page")
        params = self.ChangelogQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            changelog = changelog_page(
                found,
                search=params.validated_data.get("q", ""),
                page=params.validated_data["page"],
                size=CHANGELOG_PAGE,
            )
        except FileNotFoundError:
            raise NotFound(f"The changelog of {found.label} is missing from storage.") from None
        return Response(
            {
                "dataset": found.dataset.name,
                "version": found.version,
                "previous_version": changelog.head.get("previous_version"),
                "checkpoint": changelog.head.get("checkpoint", {}),
                "totals": changelog.head.get("totals", {}),
                "count": changelog.count,
                "page": changelog.page,
                "pages": changelog.pages,
                "entries": changelog.entries,
            }
        )


class TransparencyView(APIView):
    @extend_schema(
        operation_id="transparency",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="The transparency page's figures."
            )
        },
        description=(
            "Requests by state and per week; median and 90th percentile seconds from "
            "verified to approved and from approved to applied; the review queue's length "
            "and its oldest item's age; the next scheduled release; active exclusions per "
            "week; rows left out of each published version."
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(transparency_figures().as_json())
