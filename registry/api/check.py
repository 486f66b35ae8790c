"""Single check (anonymous) and bulk check (token) of repositories."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
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
    RepositoryField,
    StrictCharField,
    json_response,
)
from registry.api.parsers import JSONParser
from registry.enums import ExclusionKind
from registry.identifiers import (
    MAX_INPUT_LENGTH,
    IdentifierError,
    parse_identifier,
    parse_identifiers,
)
from registry.selectors import exclusions_matching_many, repository_check
from registry.throttles import PageThrottle
from registry.tokens import HasRegistryRead

BULK_MAX = 10_000
# What DRF's content negotiation answers with JSON for this view (its other renderer is the
# browsable API's HTML).
_JSON_ACCEPTS = frozenset(["", "*/*", "application/json"])


def _exclusion(match: dict) -> dict:
    """A selector's match as ``ExclusionSerializer`` renders it, without running it."""
    return {"kind": match["kind"], "subject": match["subject"], "since": match["since"]}


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


def _plain_repo(request: HttpRequest) -> str | None:
    """The ``repo`` of an anonymous JSON GET whose only parameter is a repository that
    ``CheckView.InputSerializer`` takes as it is; ``None`` for anything else."""
    meta = request.META
    query = meta.get("QUERY_STRING", "")
    if (
        request.method != "GET"
        or not query.startswith("repo=")
        or "&" in query  # one field only: Django's limit on fields cannot be reached
        or "HTTP_AUTHORIZATION" in meta
        or meta.get("HTTP_ACCEPT", "") not in _JSON_ACCEPTS
    ):
        return None
    repo = request.GET["repo"]
    # What the serializer would strip or refuse goes its way (the words of its errors).
    if not 0 < len(repo) <= MAX_INPUT_LENGTH or repo != repo.strip() or "\x00" in repo:
        return None
    return repo if repo.isascii() else None


class CheckView(PublicMixin, APIView):
    class InputSerializer(serializers.Serializer):
        repo = RepositoryField()

    @extend_schema_serializer(component_name="CheckResult")
    class OutputSerializer(serializers.Serializer):
        repo = serializers.CharField(help_text="The canonical id.")
        excluded = serializers.BooleanField()
        exclusion = ExclusionSerializer(allow_null=True)
        log_size = serializers.IntegerField(help_text="The log size whose state this answers.")

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """The anonymous GET of a well-formed repository, the most frequent call, is answered
        without DRF's request cycle (negotiation, parsers, authentication, serializers: about
        a third of a check's CPU), with the same throttle, answer and headers as ``get``
        (tests/registry/test_api.py holds both answers equal for any input). Everything else
        takes DRF's cycle, so each error comes from one place: a token, another method or
        parameter, an ``Accept`` that may get a 406, input the serializer or the parser refuses,
        a caller over the limit (counted once more on its way to the 429)."""
        repo = _plain_repo(request)
        if repo is not None:
            try:
                identifier = parse_identifier(repo)
            except IdentifierError:
                identifier = None
            if (
                identifier is not None
                and identifier.kind == ExclusionKind.REPOSITORY
                # the anonymous allowance, by address, as AnonymousThrottle counts it
                and PageThrottle().allow_request(request, self)
            ):
                response = json_response(_answer(identifier.canonical))
                response["Allow"] = ", ".join(self.allowed_methods)
                return response
        return super().dispatch(request, *args, **kwargs)

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
            child=StrictCharField(
                allow_blank=True, max_length=MAX_INPUT_LENGTH, trim_whitespace=False
            ),
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
            "error; the rest are still answered. No body (or an empty text) checks nothing."
        ),
    )
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        empty = request.META.get("CONTENT_LENGTH") in (None, "", "0")
        if request.content_type.startswith("text/plain") or empty:
            # No body, or an empty text: nothing to check (DRF hands over {} for either).
            lines = data.splitlines() if isinstance(data, str) else []
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
