"""Dataset versions in the pipeline API: list datasets, their versions and manifests, verify."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from governance.models import Dataset, DatasetVersion
from governance.releases.verify import version_verify
from governance.selectors import next_release_at, published_versions


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
    # Re-hashing reads every byte of a version: rate-limited apart from cheap calls.
    scope = "verify"
    rate = "10/hour"


class VersionVerifyView(APIView):
    throttle_classes = [VerifyThrottle]

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

    @extend_schema(responses=VerifyReportSerializer)
    def get(self, request: Request, name: str, version: str) -> Response:
        found = get_object_or_404(
            DatasetVersion.objects.select_related("dataset"), dataset__name=name, version=version
        )
        report = version_verify(version=found)
        body = {
            "dataset": report.dataset,
            "version": report.version,
            "ok": report.ok,
            "files_checked": report.files_checked,
            "rows_checked": report.rows_checked,
            "problems": report.problems,
            "offending_count": report.offending_count,
            "offending": self.OffendingRowSerializer(report.offending, many=True).data,
        }
        return Response(self.VerifyReportSerializer(body).data)
