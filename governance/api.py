"""Dataset versions in the pipeline API: list datasets, their versions and manifests, verify."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
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
from registry.api.common import ErrorSerializer


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

    @extend_schema(responses=DatasetSerializer(many=True))
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

    @extend_schema(responses=DatasetVersionSerializer(many=True))
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
