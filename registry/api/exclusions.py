"""The full export (streamed, ETag bound to the checkpoint) and the changes feed."""

from __future__ import annotations

import base64
import re

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.common import (
    BEYOND_THE_LOG,
    MAX_INDEX,
    TOKEN_ERRORS,
    ErrorSerializer,
    FixedMediaType,
    TokenMixin,
    reject_blank,
)
from registry.checkpoints import checkpoint_head, checkpoint_latest, checkpoint_signed
from registry.enums import ExclusionKind, LogAction
from registry.export_formats import FORMATS, format_tag
from registry.export_store import ExportStore, export_name
from registry.exports import export_chunks
from registry.models import LogEntry

_GZIP = re.compile(r"(^|,)\s*gzip\s*(;\s*q\s*=\s*(?!0(\.0*)?\s*(,|$))[0-9.]+\s*)?(,|$)")


def _wants_gzip(request: Request | HttpRequest) -> bool:
    return bool(_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "").lower()))


def _etag(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> str:
    suffix = "-gzip" if gzip else ""
    return f'"{size}-{root_hash.hex()[:32]}-{fmt}{format_tag(fmt)}{suffix}"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


class CheckpointSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    root_hash = serializers.CharField(source="root_hash_b64", help_text="Base64.")
    note = serializers.CharField(help_text="The signed note (C2SP tlog-checkpoint).")


class ExportView(TokenMixin, APIView):
    content_negotiation_class = FixedMediaType  # ?format= picks the format, not Accept
    renderer_classes = [JSONRenderer]

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=list(FORMATS), default="txt")
        size = serializers.IntegerField(
            max_value=MAX_INDEX,
            min_value=0,
            required=False,
            help_text="A signed checkpoint's size (as in a release manifest); default: latest.",
        )

    @extend_schema(
        operation_id="exclusions_export",
        parameters=[InputSerializer],
        responses={
            (200, media.split(";")[0]): OpenApiResponse(
                OpenApiTypes.BINARY if fmt == "parquet" else OpenApiTypes.STR,
                description=f"The list as {fmt}.",
            )
            for fmt, media in FORMATS.items()
        }
        | {
            304: OpenApiResponse(description="Unchanged since the ETag sent."),
            404: OpenApiResponse(ErrorSerializer, description="No checkpoint of that size."),
            **TOKEN_ERRORS,
        },
        description=(
            "Every exclusion in force at the latest signed checkpoint, streamed. The ETag "
            "names the checkpoint and format; send it back in If-None-Match to get 304 when "
            "nothing changed. `X-Log-Size` and `X-Checkpoint-Root` name the checkpoint. "
            "Send `Accept-Encoding: gzip` for a gzipped body."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        reject_blank(request.query_params, "format", "size")
        query = request.query_params
        gzip = _wants_gzip(request)
        fmt = query.get("format", "txt")
        if query.keys() <= {"format"} and fmt in FORMATS:
            # The common call (latest checkpoint): the ETag needs only the head's size and
            # root, one indexed query; the note is read only when the body is sent.
            head = checkpoint_head()
            if head is not None:
                etag = _etag(head[0], head[1], fmt, gzip=gzip)
                if _matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
                    return self._headers(HttpResponse(status=304), etag, *head)
        params = self.InputSerializer(data=query)
        params.is_valid(raise_exception=True)
        fmt = params.validated_data["format"]
        if "size" in params.validated_data:
            checkpoint = checkpoint_signed(params.validated_data["size"])
            if checkpoint is None:
                raise NotFound(
                    f"The log signed no checkpoint of size {params.validated_data['size']}; "
                    "use a size from /api/v1/log/checkpoint or a release manifest."
                )
        else:
            checkpoint = checkpoint_latest()
        etag = _etag(checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip)
        if _matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
            response = HttpResponse(status=304)
        else:
            store = ExportStore()
            name = export_name(checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip)
            try:  # normally precomputed by the task queued when the checkpoint was signed
                response = FileResponse(store.open(name), content_type=FORMATS[fmt])
            except FileNotFoundError:  # the first request: streamed, and written as it goes
                chunks = export_chunks(
                    checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip, store=store
                )
                body = store.writing(name, chunks)
                response = StreamingHttpResponse(body, content_type=FORMATS[fmt])
            if gzip:
                response["Content-Encoding"] = "gzip"
            response["Content-Disposition"] = (
                f'attachment; filename="exclusions-{checkpoint.size}.{fmt}"'
            )
        return self._headers(response, etag, checkpoint.size, checkpoint.root_hash)

    @staticmethod
    def _headers(response: HttpResponse, etag: str, size: int, root_hash: bytes) -> HttpResponse:
        response["ETag"] = etag
        response["Vary"] = "Accept-Encoding, Authorization"
        response["Cache-Control"] = "private, no-cache"
        response["X-Log-Size"] = str(size)
        response["X-Checkpoint-Root"] = base64.b64encode(root_hash).decode()
        return response


class ChangesView(TokenMixin, APIView):
    class InputSerializer(serializers.Serializer):
        since = serializers.IntegerField(
            max_value=MAX_INDEX,
            min_value=0,
            help_text="Log index to start from (your last log size).",
        )
        limit = serializers.IntegerField(max_value=MAX_INDEX, min_value=1, required=False)

    @extend_schema_serializer(component_name="ChangesPage")
    class OutputSerializer(serializers.Serializer):
        class ChangeSerializer(serializers.Serializer):
            index = serializers.IntegerField()
            action = serializers.ChoiceField(choices=LogAction.choices)
            kind = serializers.ChoiceField(choices=ExclusionKind.choices)
            subject = serializers.CharField()
            at = serializers.DateTimeField(source="created_at")

        since = serializers.IntegerField()
        next = serializers.IntegerField(help_text="Pass as `since` for the next page.")
        complete = serializers.BooleanField(help_text="True when `next` reached the checkpoint.")
        checkpoint = CheckpointSerializer()
        changes = ChangeSerializer(many=True)

    @extend_schema(
        operation_id="exclusions_changes",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 404: BEYOND_THE_LOG, **TOKEN_ERRORS},
        description=(
            "Adds and removes from log index `since` up to the latest signed checkpoint, "
            "paged. Apply them in order; when `complete` is true you hold the checkpoint's set. "
            "A `since` beyond the checkpoint's size is a 404."
        ),
    )
    def get(self, request: Request) -> Response:
        reject_blank(request.query_params, "limit")
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        since = params.validated_data["since"]
        limit = min(
            params.validated_data.get("limit", settings.REGISTRY_PAGE_MAX),
            settings.REGISTRY_PAGE_MAX,
        )
        checkpoint = checkpoint_latest()
        if since > checkpoint.size:  # well formed; that position is not signed (yet)
            raise NotFound(
                f"The latest checkpoint has size {checkpoint.size}; since={since} is beyond it."
            )
        end = min(since + limit, checkpoint.size)
        changes = LogEntry.objects.filter(index__gte=since, index__lt=end).order_by("index")
        body = {
            "since": since,
            "next": end,
            "complete": end == checkpoint.size,
            "checkpoint": checkpoint,
            "changes": changes.values("index", "action", "kind", "subject", "created_at"),
        }
        return Response(self.OutputSerializer(body).data)
