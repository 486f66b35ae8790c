"""The owner API: submit a request, read it, check ownership now, withdraw.

Every error has the project's single shape (governance/api_errors.py). A request is
reached only with its status token in the ``X-Status-Token`` header (never the query
string, which access logs record); a wrong token and an unknown id get the same 404, and
an address that sends too many wrong tokens gets 429 (``optout/token_throttle.py``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from optout.enums import LineOutcome, RequestStatus, VerificationMethod
from optout.guidance import next_step
from optout.links import status_url
from optout.models import RemovalRequest
from optout.release_schedule import expected_next_release
from optout.selectors import request_evidence
from optout.services import (
    MAX_SUBJECTS_PER_REQUEST,
    TransitionError,
    request_submit,
    request_transition,
)
from optout.tasks import verify_run
from optout.throttling import client_ip, submission_count, submission_throttled
from optout.token_throttle import TokensThrottled, request_by_presented_token
from optout.verification import (
    VerificationRefused,
    VerificationThrottled,
    verification_start,
)
from registry.api.common import StrictCharField, SubjectField
from registry.api.parsers import JSONParser
from registry.dispatch import queue
from registry.enums import ExclusionKind


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request is not in a state that allows this."
    default_code = "conflict"


class ApiErrorSerializer(serializers.Serializer):
    class ApiErrorDetailSerializer(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    error = ApiErrorDetailSerializer()


class RequestLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="number")
    input = serializers.CharField(source="text")
    outcome = serializers.ChoiceField(choices=LineOutcome.choices)
    canonical = serializers.CharField(source="identifier.canonical", allow_null=True)
    kind = serializers.ChoiceField(
        source="identifier.kind", choices=ExclusionKind.choices, allow_null=True
    )
    message = serializers.CharField()


class RequestDetailSerializer(serializers.Serializer):
    class RequestSubjectSerializer(serializers.Serializer):
        subject = serializers.CharField()
        kind = serializers.ChoiceField(choices=ExclusionKind.choices)
        verified_at = serializers.DateTimeField(allow_null=True)
        verified_by = serializers.CharField(allow_blank=True)

    class RequestEvidenceSerializer(serializers.Serializer):
        subject = serializers.CharField(source="subject.subject")
        method = serializers.ChoiceField(choices=VerificationMethod.choices)
        succeeded = serializers.BooleanField()
        message = serializers.CharField()
        evidence = serializers.JSONField()
        checked_at = serializers.DateTimeField()
        duration_ms = serializers.IntegerField()

    class RequestEventSerializer(serializers.Serializer):
        from_status = serializers.CharField(allow_blank=True)
        to_status = serializers.CharField()
        actor = serializers.CharField(source="actor_label")
        reason = serializers.CharField(allow_blank=True)
        at = serializers.DateTimeField(source="created_at")

    class NextReleaseSerializer(serializers.Serializer):
        at = serializers.DateTimeField(allow_null=True)
        note = serializers.CharField()

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    verification_token = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    subjects = RequestSubjectSerializer(many=True)
    evidence = RequestEvidenceSerializer(many=True)
    events = RequestEventSerializer(many=True)
    next_step = serializers.CharField()
    next_release = NextReleaseSerializer()


def _detail(request: RemovalRequest) -> dict:
    release = expected_next_release()
    view = {
        "id": request.public_id,
        "status": request.status,
        "verification_token": request.verification_token,
        "expires_at": request.expires_at,
        "created_at": request.created_at,
        "subjects": list(request.subjects.all()),
        "evidence": list(request_evidence(request)),
        "events": list(request.events.all()),
        "next_step": next_step(request, release=release),
        "next_release": release,
    }
    return RequestDetailSerializer(view).data


_TOKEN_PARAMETERS = [
    OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
    OpenApiParameter(
        "X-Status-Token",
        str,
        OpenApiParameter.HEADER,
        description="The token from the request's private link (the part after `#t=`).",
    ),
]


class _JsonOnlyView(APIView):
    # JSON only: the owner API documents JSON bodies, and nothing else is parsed.
    parser_classes = [JSONParser]


class _OwnedRequestView(_JsonOnlyView):
    def owned_request(self, request: Request, public_id: str) -> RemovalRequest:
        if "token" in request.query_params:
            raise exceptions.ValidationError(
                {
                    "token": [
                        "Send the status token in the X-Status-Token header: a token in the "
                        "query string is written to access logs, so it is not accepted."
                    ]
                }
            )
        try:
            found = request_by_presented_token(
                request, public_id=public_id, token=request.headers.get("X-Status-Token", "")
            )
        except TokensThrottled as wait:
            raise exceptions.Throttled(wait=wait.retry_after, detail=str(wait)) from None
        if found is None:
            raise exceptions.NotFound(
                "No request matches this id and token. Use the whole private link from the "
                "confirmation or an e-mail."
            )
        return found


class RequestCreateView(_JsonOnlyView):
    class RequestCreateInputSerializer(serializers.Serializer):
        subjects = serializers.ListField(
            child=SubjectField(trim_whitespace=False),
            min_length=1,
            max_length=MAX_SUBJECTS_PER_REQUEST,
            help_text="Repositories or namespaces, one per item, in any form people paste.",
        )
        contact_email = serializers.EmailField()
        reason = StrictCharField(max_length=5000, required=False, allow_blank=True)

    class RequestCreateOutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(allow_null=True)
        status = serializers.CharField(allow_null=True)
        status_url = serializers.CharField(allow_null=True, help_text="The private link.")
        status_token = serializers.CharField(allow_null=True)
        verification_token = serializers.CharField(allow_null=True)
        expires_at = serializers.DateTimeField(allow_null=True)
        lines = RequestLineSerializer(many=True)

    @extend_schema(
        operation_id="request_create",
        request=RequestCreateInputSerializer,
        responses={
            201: RequestCreateOutputSerializer,
            200: RequestCreateOutputSerializer,
            400: ApiErrorSerializer,
            429: ApiErrorSerializer,
        },
        summary="Submit a removal request",
        description="201 with the private link when a request was created; 200 with `id` "
        "null when every line is already excluded or already requested.",
    )
    def post(self, request: Request) -> Response:
        given = self.RequestCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        ip = client_ip(request.META)
        throttled = submission_throttled(ip=ip, email=data["contact_email"])
        if throttled:
            raise exceptions.Throttled(wait=throttled.retry_after, detail=throttled.message)
        result = request_submit(
            lines=data["subjects"],
            contact_email=data["contact_email"],
            reason=data.get("reason", ""),
        )
        if result.errors:
            fields = {
                (f"subjects[{number - 1}]" if number else "subjects"): [message]
                for number, message in sorted(result.errors.items())
            }
            raise exceptions.ValidationError(fields)
        created = result.request
        if created is not None:
            submission_count(ip=ip, email=data["contact_email"])
        body = {
            "id": created.public_id if created else None,
            "status": created.status if created else None,
            "status_url": status_url(created.public_id, result.status_token or "")
            if created
            else None,
            "status_token": result.status_token,
            "verification_token": created.verification_token if created else None,
            "expires_at": created.expires_at if created else None,
            "lines": result.lines,
        }
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.RequestCreateOutputSerializer(body).data, status=code)


class RequestDetailView(_OwnedRequestView):
    @extend_schema(
        operation_id="request_read",
        parameters=_TOKEN_PARAMETERS,
        responses={
            200: RequestDetailSerializer,
            400: ApiErrorSerializer,
            404: ApiErrorSerializer,
            429: ApiErrorSerializer,
        },
        summary="Read a removal request: state, evidence, what happens next",
    )
    def get(self, request: Request, public_id: str) -> Response:
        return Response(_detail(self.owned_request(request, public_id)))


class RequestVerifyView(_OwnedRequestView):
    @extend_schema(
        operation_id="request_verify",
        request=None,
        parameters=_TOKEN_PARAMETERS,
        responses={
            200: RequestDetailSerializer,
            202: RequestDetailSerializer,
            400: ApiErrorSerializer,
            404: ApiErrorSerializer,
            409: ApiErrorSerializer,
            429: ApiErrorSerializer,
        },
        summary="Check ownership now (file in the repository, proof repository)",
        description="200 with the results when the check finished at once; 202 when it "
        "runs in the background (read the request again for the results).",
    )
    def post(self, request: Request, public_id: str) -> Response:
        owned = self.owned_request(request, public_id)
        try:
            run = verification_start(request_id=owned.id)
        except VerificationThrottled as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from None
        except VerificationRefused as exc:
            raise Conflict(str(exc)) from None
        queue(verify_run, run_id=run.id)  # if the broker is down, the sweeper sends it
        run.refresh_from_db()
        owned.refresh_from_db()
        finished = run.finished_at is not None
        return Response(_detail(owned), status=200 if finished else 202)


class RequestWithdrawView(_OwnedRequestView):
    class RequestWithdrawInputSerializer(serializers.Serializer):
        reason = StrictCharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="request_withdraw",
        request=RequestWithdrawInputSerializer,
        parameters=_TOKEN_PARAMETERS,
        responses={
            200: RequestDetailSerializer,
            400: ApiErrorSerializer,
            404: ApiErrorSerializer,
            409: ApiErrorSerializer,
            429: ApiErrorSerializer,
        },
        summary="Withdraw the request (opt back in)",
    )
    def post(self, request: Request, public_id: str) -> Response:
        owned = self.owned_request(request, public_id)
        given = self.RequestWithdrawInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            withdrawn = request_transition(
                request_id=owned.id,
                to_status=RequestStatus.WITHDRAWN,
                actor_label="owner",
                reason=given.validated_data.get("reason") or "withdrawn by the owner",
            )
        except TransitionError as exc:
            raise Conflict(str(exc)) from None
        return Response(_detail(withdrawn))
