"""The pipeline API.

MINIMAL (Foundation): the anonymous single check. The registry issue adds tokens, bulk
check, export, the changes feed, the log, checkpoints and proofs.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.enums import ExclusionKind
from registry.identifiers import IdentifierError, parse_identifier
from registry.selectors import exclusion_matching, log_size


class CheckView(APIView):
    class InputSerializer(serializers.Serializer):
        repo = serializers.CharField(
            max_length=600, help_text="A repository: owner/name, host/owner/name or a URL."
        )

    class ExclusionSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ExclusionKind.choices)
        subject = serializers.CharField()
        since = serializers.DateTimeField(source="created_at")

    class OutputSerializer(serializers.Serializer):
        repo = serializers.CharField()
        excluded = serializers.BooleanField()
        exclusion = serializers.DictField(allow_null=True)
        log_size = serializers.IntegerField()

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            identifier = parse_identifier(params.validated_data["repo"])
        except IdentifierError as exc:
            raise serializers.ValidationError({"repo": [str(exc)]}) from None
        if identifier.kind != ExclusionKind.REPOSITORY:
            raise serializers.ValidationError(
                {"repo": ["Give a repository (owner/name), not a whole namespace."]}
            )
        match = exclusion_matching(identifier.canonical)
        body = {
            "repo": identifier.canonical,
            "excluded": match is not None,
            "exclusion": self.ExclusionSerializer(match).data if match else None,
            "log_size": log_size(),
        }
        return Response(self.OutputSerializer(body).data)
