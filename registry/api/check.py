"""Single check (anonymous) and bulk check (token) of repositories."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.common import (
    PUBLIC_AUTH,
    PUBLIC_ERRORS,
    TOKEN_ERRORS,
    PlainTextParser,
    PublicMixin,
    json_response,
)
from registry.api.parsers import JSONParser
from registry.enums import ExclusionKind
from registry.identifiers import IdentifierError, parse_identifier, parse_identifiers
from registry.selectors import exclusions_matching_many, repository_check
from registry.tokens import HasRegistryRead

BULK_MAX = 10_000


def _exclusion(match: dict) -> dict:
    """A selector's match as ``ExclusionSerializer`` renders it, without running it."""
    return {"kind": match["kind"], "subject": match["subject"], "since": match["since"]}


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF would turn ``0`` or ``false`` into text."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ExclusionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExclusionKind.choices)
    subject = serializers.CharField()
    since = serializers.DateTimeField(source="created_at")


def _answer(canonical: str) -> dict:
    """The check's answer as ``CheckView.OutputSerializer`` renders it (tested), built from
    the selector's row: PostgreSQL formats the date, so no model instance is made."""
    match, size = repository_check(canonical)
    return {
        "repo": canonical,
        "excluded": match is not None,
        "exclusion": None if match is None else _exclusion(match),
        "log_size": size,
    }


class CheckView(PublicMixin, APIView):
    class InputSerializer(serializers.Serializer):
        repo = serializers.CharField(
            max_length=600, help_text="A repository: owner/name, host/owner/name or a URL."
        )

    @extend_schema_serializer(component_name="CheckResult")
    class OutputSerializer(serializers.Serializer):
        repo = serializers.CharField(help_text="The canonical id.")
        excluded = serializers.BooleanField()
        exclusion = ExclusionSerializer(allow_null=True)
        log_size = serializers.IntegerField(help_text="The log size whose state this answers.")

    @extend_schema(
        operation_id="check_one",
        auth=PUBLIC_AUTH,
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **PUBLIC_ERRORS},
    )
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
        return Response(_answer(identifier.canonical))

    class BulkInputSerializer(serializers.Serializer):
        repos = serializers.ListField(
            child=StrictCharField(allow_blank=True, max_length=600, trim_whitespace=False),
            max_length=BULK_MAX,
            help_text=f"Up to {BULK_MAX:,} repositories, in any form the single check accepts.",
        )

    class BulkOutputSerializer(serializers.Serializer):
        class ResultSerializer(serializers.Serializer):
            input = serializers.CharField(help_text="The line as sent.")
            repo = serializers.CharField(allow_null=True, help_text="Canonical id, if it parsed.")
            excluded = serializers.BooleanField(allow_null=True)
            exclusion = ExclusionSerializer(allow_null=True)
            error = serializers.CharField(allow_null=True, help_text="Why the line is unusable.")

        log_size = serializers.IntegerField()
        checked = serializers.IntegerField()
        excluded = serializers.IntegerField()
        errors = serializers.IntegerField()
        results = ResultSerializer(many=True)

    def get_permissions(self):
        return [HasRegistryRead()] if self.request.method == "POST" else []

    def get_parsers(self):
        return [JSONParser(), PlainTextParser()]

    @extend_schema(
        operation_id="check_bulk",
        request={"application/json": BulkInputSerializer, "text/plain": OpenApiTypes.STR},
        responses={200: BulkOutputSerializer, **TOKEN_ERRORS},
        description=(
            f'Check up to {BULK_MAX:,} repositories: a JSON body `{{"repos": [...]}}` or '
            "plain text with one repository a line. Unparseable lines come back with their "
            "error; the rest are still answered."
        ),
    )
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        if isinstance(data, str) and request.content_type.startswith("text/plain"):
            lines = data.splitlines()
            if len(lines) > BULK_MAX:
                raise serializers.ValidationError(
                    {"repos": [f"Send at most {BULK_MAX:,} lines a call; this had {len(lines)}."]}
                )
            repos = lines
        else:
            params = self.BulkInputSerializer(data=data)
            params.is_valid(raise_exception=True)
            repos = params.validated_data["repos"]
        results: list[dict] = []
        canonical: list[str] = []
        for text, parsed in zip(repos, parse_identifiers(repos), strict=True):
            result = {"input": text, "repo": None, "excluded": None, "exclusion": None}
            if isinstance(parsed, IdentifierError):
                result["error"] = str(parsed)
            elif parsed.kind != ExclusionKind.REPOSITORY:
                result["error"] = "This is a whole namespace; give owner/name."
            else:
                result["repo"] = parsed.canonical
                result["error"] = None
                canonical.append(parsed.canonical)
            results.append(result)
        matches, size = exclusions_matching_many(canonical)
        # Built as plain dicts rather than through BulkOutputSerializer (which documents the
        # shape): serializing 10,000 results field by field costs more than the lookups.
        excluded = 0
        for result in results:
            if result["repo"] is not None:
                match = matches.get(result["repo"])
                result["excluded"] = match is not None
                if match is not None:
                    excluded += 1
                    result["exclusion"] = _exclusion(match)
        body = {
            "log_size": size,
            "checked": len(canonical),
            "excluded": excluded,
            "errors": len(results) - len(canonical),
            "results": results,
        }
        return json_response(body)
