"""Downstream receipts over HTTP: post one, read where each downstream user stands, and the
receipts log's checkpoint and inclusion proofs; plus the public page ``/downstream/``.

Thin: each view calls ``registry.receipts``. The API views reuse the pipeline API's pieces
(``registry.api.common``): token authentication, throttles and the single error shape.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.common import (
    BEYOND_THE_LOG,
    PUBLIC_AUTH,
    PUBLIC_ERRORS,
    TOKEN_ERRORS,
    FixedMediaType,
    PlainTextParser,
    PublicMixin,
    TokenMixin,
)
from registry.log import BeyondTheLog
from registry.receipts import (
    ReceiptRefused,
    downstream_status,
    receipt_consistency_proof,
    receipt_inclusion_proof,
    receipt_submit,
    receipts_checkpoint,
    receipts_size,
)


def _refused(exc: ReceiptRefused) -> APIException:
    """The service's refusal in the API's error shape: input at fault is a validation error
    naming its field; a wrong signer a 403."""
    if exc.code == "invalid":
        return serializers.ValidationError({exc.field: [str(exc)]})
    return PermissionDenied(str(exc), exc.code)


def _status_row(row) -> dict:
    newest = row.newest
    return {
        "name": row.user.name,
        "description": row.user.description,
        "dataset": newest.dataset if newest else None,
        "applied_size": newest.checkpoint_size if newest else None,
        "applied_at": newest.applied_at.isoformat().replace("+00:00", "Z") if newest else None,
        "receipt_index": newest.index if newest else None,
        "entries_behind": row.entries_behind,
    }


class ReceiptsView(TokenMixin, APIView):
    parser_classes = [PlainTextParser]

    def get_permissions(self):
        return [] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        operation_id="receipts_status",
        summary="Each downstream user's newest applied checkpoint and how far behind it is",
        auth=PUBLIC_AUTH,
        responses={200: OpenApiTypes.OBJECT, **PUBLIC_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({"downstream": [_status_row(row) for row in downstream_status()]})

    @extend_schema(
        operation_id="receipts_create",
        summary="Post a signed receipt: this pipeline applied a checkpoint to a dataset",
        request={"text/plain": OpenApiTypes.STR},
        responses={201: OpenApiTypes.OBJECT, **TOKEN_ERRORS},
    )
    def post(self, request: Request) -> Response:
        note = request.data if isinstance(request.data, str) else ""
        try:
            receipt = receipt_submit(note=note, token=request.auth)
        except ReceiptRefused as exc:
            raise _refused(exc) from None
        body = {
            "index": receipt.index,
            "user": receipt.user.name,
            "dataset": receipt.dataset,
            "checkpoint_size": receipt.checkpoint_size,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ReceiptsCheckpointView(PublicMixin, APIView):
    content_negotiation_class = FixedMediaType

    @extend_schema(
        operation_id="receipts_checkpoint",
        summary="The receipts log's signed checkpoint (origin <LOG_NAME>/receipts)",
        auth=PUBLIC_AUTH,
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR), **PUBLIC_ERRORS},
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(receipts_checkpoint(), content_type="text/plain; charset=utf-8")


class InclusionQuery(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, max_value=2**62)
    size = serializers.IntegerField(min_value=1, max_value=2**62)


class ReceiptsInclusionView(PublicMixin, APIView):
    @extend_schema(
        operation_id="receipts_inclusion_proof",
        summary="Inclusion proof of one receipt in the receipts log",
        description="`index` must be below `size`; a `size` beyond the receipts log's is a 404.",
        parameters=[InclusionQuery],
        auth=PUBLIC_AUTH,
        responses={200: OpenApiTypes.OBJECT, 404: BEYOND_THE_LOG, **PUBLIC_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = InclusionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return _proof(receipt_inclusion_proof, **query.validated_data)


class ConsistencyQuery(serializers.Serializer):
    first = serializers.IntegerField(min_value=0, max_value=2**62)
    second = serializers.IntegerField(min_value=0, max_value=2**62)


class ReceiptsConsistencyView(PublicMixin, APIView):
    @extend_schema(
        operation_id="receipts_consistency_proof",
        summary="Consistency proof between two sizes of the receipts log",
        description="`first` must not exceed `second`; a `second` beyond the receipts log's "
        "is a 404.",
        parameters=[ConsistencyQuery],
        auth=PUBLIC_AUTH,
        responses={200: OpenApiTypes.OBJECT, 404: BEYOND_THE_LOG, **PUBLIC_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = ConsistencyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return _proof(receipt_consistency_proof, **query.validated_data)


def _proof(prove, **sizes: int) -> Response:
    """A proof of the receipts log as JSON: the sizes asked for and the hashes, in base64."""
    try:
        hashes = prove(*sizes.values())
    except BeyondTheLog as exc:  # well formed; that tree does not exist (yet)
        raise NotFound(str(exc)) from None
    except ReceiptRefused as exc:
        raise _refused(exc) from None
    return Response({**sizes, "hashes": [base64.b64encode(h).decode() for h in hashes]})


def downstream_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "registry/downstream.html",
        {"rows": downstream_status(), "receipts": receipts_size()},
    )
