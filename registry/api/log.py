"""The transparency log: signed checkpoint, verifier key, entries and proofs."""

from __future__ import annotations

import base64

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import log
from registry.api.common import (
    BEYOND_THE_LOG,
    MAX_INDEX,
    PUBLIC_AUTH,
    PUBLIC_ERRORS,
    FixedMediaType,
    PublicMixin,
)
from registry.checkpoints import checkpoint_latest, verifier_key
from registry.merkle import leaf_hash
from registry.models import LogEntry
from registry.selectors import log_size

_TEXT = {(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)}


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


class CheckpointView(PublicMixin, APIView):
    content_negotiation_class = FixedMediaType

    @extend_schema(
        operation_id="log_checkpoint",
        auth=PUBLIC_AUTH,
        responses={**_TEXT, 429: PUBLIC_ERRORS[429], 401: PUBLIC_ERRORS[401]},
        description="The latest signed checkpoint: a C2SP tlog-checkpoint signed note.",
    )
    def get(self, request: Request) -> HttpResponse:
        checkpoint = checkpoint_latest()
        response = HttpResponse(checkpoint.note, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "no-cache"
        return response


class KeyView(PublicMixin, APIView):
    content_negotiation_class = FixedMediaType

    @extend_schema(
        operation_id="log_key",
        auth=PUBLIC_AUTH,
        responses={**_TEXT, 429: PUBLIC_ERRORS[429], 401: PUBLIC_ERRORS[401]},
        description="The verifier key, in C2SP's text form `name+keyid+base64key`.",
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(verifier_key() + "\n", content_type="text/plain; charset=utf-8")


class EntriesView(PublicMixin, APIView):
    class InputSerializer(serializers.Serializer):
        start = serializers.IntegerField(max_value=MAX_INDEX, min_value=0)
        end = serializers.IntegerField(
            max_value=MAX_INDEX, min_value=0, help_text="Exclusive; capped by page size."
        )

        def validate(self, attrs: dict) -> dict:
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": ["end must not be below start."]})
            return attrs

    @extend_schema_serializer(component_name="LogEntriesPage")
    class OutputSerializer(serializers.Serializer):
        class EntrySerializer(serializers.Serializer):
            index = serializers.IntegerField()
            leaf = serializers.CharField(help_text="The exact UTF-8 text that was hashed.")
            leaf_hash = serializers.CharField(help_text="Base64 SHA-256(0x00 ‖ leaf).")

        start = serializers.IntegerField()
        end = serializers.IntegerField(help_text="One past the last entry returned.")
        log_size = serializers.IntegerField()
        entries = EntrySerializer(many=True)

    @extend_schema(
        operation_id="log_entries",
        description="Entries from `start` up to `end` (exclusive; `end` must not be below "
        "`start`), at most a page, and none beyond the log.",
        auth=PUBLIC_AUTH,
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **PUBLIC_ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.validated_data["start"], params.validated_data["end"]
        size = log_size()
        end = min(end, size, start + settings.REGISTRY_PAGE_MAX)
        leaves = LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index")
        entries = [
            {
                "index": index,
                "leaf": text,
                "leaf_hash": base64.b64encode(leaf_hash(text.encode())).decode(),
            }
            for index, text in leaves.values_list("index", "leaf")
        ]
        body = {"start": start, "end": max(end, start), "log_size": size, "entries": entries}
        return Response(self.OutputSerializer(body).data)


# A proof endpoint: validate two log positions, compute the proof, answer in base64.
# Subclasses name the serializers, the field a refused position is reported on, and the
# proof function. (A comment, not a docstring: the schema would publish a docstring.)
class _ProofView(PublicMixin, APIView):
    InputSerializer: type[serializers.Serializer]
    OutputSerializer: type[serializers.Serializer]
    error_field: str

    def prove(self, data: dict[str, int], current: int) -> list[bytes]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            hashes = self.prove(data, current=log_size())
        except log.BeyondTheLog as exc:  # well formed; that tree does not exist (yet)
            raise NotFound(str(exc)) from None
        except log.ProofRequestError as exc:
            raise serializers.ValidationError({self.error_field: [str(exc)]}) from None
        return Response(self.OutputSerializer({**data, "hashes": _b64(hashes)}).data)


class _InclusionInput(serializers.Serializer):
    index = serializers.IntegerField(max_value=MAX_INDEX, min_value=0)
    size = serializers.IntegerField(max_value=MAX_INDEX, min_value=1)


@extend_schema_serializer(component_name="InclusionProof")
class _InclusionOutput(serializers.Serializer):
    index = serializers.IntegerField()
    size = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="Base64.")


@extend_schema_view(
    get=extend_schema(
        operation_id="log_proof_inclusion",
        auth=PUBLIC_AUTH,
        parameters=[_InclusionInput],
        responses={200: _InclusionOutput, 404: BEYOND_THE_LOG, **PUBLIC_ERRORS},
        description="The proof that entry `index` is in the tree of `size` entries. `index` "
        "must be below `size`; a `size` beyond the log's is a 404.",
    )
)
class InclusionProofView(_ProofView):
    InputSerializer = _InclusionInput
    OutputSerializer = _InclusionOutput
    error_field = "index"

    def prove(self, data: dict[str, int], current: int) -> list[bytes]:
        return log.inclusion_proof(data["index"], data["size"], current=current)


class _ConsistencyInput(serializers.Serializer):
    first = serializers.IntegerField(max_value=MAX_INDEX, min_value=0)
    second = serializers.IntegerField(max_value=MAX_INDEX, min_value=0)


@extend_schema_serializer(component_name="ConsistencyProof")
class _ConsistencyOutput(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="Base64.")


@extend_schema_view(
    get=extend_schema(
        operation_id="log_proof_consistency",
        auth=PUBLIC_AUTH,
        parameters=[_ConsistencyInput],
        responses={200: _ConsistencyOutput, 404: BEYOND_THE_LOG, **PUBLIC_ERRORS},
        description="The proof that the tree of `second` entries extends the tree of `first`. "
        "`first` must not exceed `second`; a `second` beyond the log's is a 404.",
    )
)
class ConsistencyProofView(_ProofView):
    InputSerializer = _ConsistencyInput
    OutputSerializer = _ConsistencyOutput
    error_field = "first"

    def prove(self, data: dict[str, int], current: int) -> list[bytes]:
        return log.consistency_proof(data["first"], data["second"], current=current)
