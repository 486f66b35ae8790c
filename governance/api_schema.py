"""What the generated OpenAPI schema cannot say from one view alone (a drf-spectacular
postprocessing hook, ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``).

- The answers any ``/api/`` operation can give whatever its view does, in the single error
  shape: 400 (a Host header the portal does not serve, too many query or form fields), 406
  (an ``Accept`` header that excludes JSON, where the answer is JSON), 413 (a body over
  the upload limit), 415 (a body of another media type; both where the operation takes a
  body) and 429 (every API view is
  throttled). A view's own wording of a status is kept.
- Bodies that are required although one of their media types is plain text.
- The links between operations: what one answer gives that the next call takes (a new
  request's id and status token, a log's size, a dataset's versions), so clients and
  stateful tests can follow them.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable."},
                "message": {"type": "string", "description": "What is wrong and how to fix it."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Input fields and their problems; may be empty.",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

_COMMON = {
    "400": "The request could not be used: `invalid` input (see `fields`), `parse_error`, "
    "`too_many_fields` (over 1,000 query or form fields) or `bad_host` (a Host header "
    "this portal does not serve).",
    "429": "Too many calls (`throttled`); retry after the `Retry-After` seconds.",
}
_NOT_ACCEPTABLE = "The `Accept` header excludes `application/json` (`not_acceptable`)."
_TOO_LARGE = "The body is over the upload limit (`too_large`): 2.5 MB, 8 MB for plain text."
_UNSUPPORTED = (
    "The body's `Content-Type` is not one this operation reads (`unsupported_media_type`)."
)
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}

# Where an answer leads: (path, method, status) -> {link name: link}. Parameters name
# their location ("path.", "query.", "header.") as OpenAPI runtime expressions allow.
_OWNER = {
    "path.public_id": "$response.body#/id",
    "header.X-Status-Token": "$request.header.X-Status-Token",
}
_NEW_REQUEST = {
    "path.public_id": "$response.body#/id",
    "header.X-Status-Token": "$response.body#/status_token",
}
_LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/api/v1/requests/", "post", "201"): {
        "ReadRequest": {"operationId": "request_read", "parameters": _NEW_REQUEST},
        "VerifyRequest": {"operationId": "request_verify", "parameters": _NEW_REQUEST},
        "WithdrawRequest": {"operationId": "request_withdraw", "parameters": _NEW_REQUEST},
    },
    ("/api/v1/requests/{public_id}/", "get", "200"): {
        "VerifyRequest": {"operationId": "request_verify", "parameters": _OWNER},
        "WithdrawRequest": {"operationId": "request_withdraw", "parameters": _OWNER},
    },
    ("/api/v1/requests/{public_id}/verify/", "post", "200"): {
        "ReadRequest": {"operationId": "request_read", "parameters": _OWNER},
        "WithdrawRequest": {"operationId": "request_withdraw", "parameters": _OWNER},
    },
    ("/api/v1/requests/{public_id}/verify/", "post", "202"): {
        "ReadRequest": {"operationId": "request_read", "parameters": _OWNER},
    },
    ("/api/v1/requests/{public_id}/withdraw/", "post", "200"): {
        "ReadRequest": {"operationId": "request_read", "parameters": _OWNER},
    },
    ("/api/v1/log/entries", "get", "200"): {
        "ProveInclusion": {
            "operationId": "log_proof_inclusion",
            "parameters": {
                "query.index": "$response.body#/start",
                "query.size": "$response.body#/log_size",
            },
        },
        "ProveConsistency": {
            "operationId": "log_proof_consistency",
            "parameters": {
                "query.first": "$response.body#/start",
                "query.second": "$response.body#/log_size",
            },
        },
    },
    ("/api/v1/exclusions/changes", "get", "200"): {
        "NextPage": {
            "operationId": "exclusions_changes",
            "parameters": {"query.since": "$response.body#/next"},
        },
        "ExportAtCheckpoint": {
            "operationId": "exclusions_export",
            "parameters": {"query.size": "$response.body#/checkpoint/size"},
        },
    },
    ("/api/v1/datasets/", "get", "200"): {
        "Versions": {
            "operationId": "dataset_versions",
            "parameters": {"path.name": "$response.body#/0/name"},
        },
        "Lookup": {
            "operationId": "dataset_lookup",
            "parameters": {"path.name": "$response.body#/0/name"},
        },
    },
    ("/api/v1/datasets/{name}/versions/", "get", "200"): {
        "Changelog": {
            "operationId": "version_changelog",
            "parameters": {
                "path.name": "$request.path.name",
                "path.version": "$response.body#/0/version",
            },
        },
        "AskVerification": {
            "operationId": "version_verification_request",
            "parameters": {
                "path.name": "$request.path.name",
                "path.version": "$response.body#/0/version",
            },
        },
    },
    ("/api/v1/datasets/{name}/versions/{version}/verify/", "post", "202"): {
        "ReadVerification": {
            "operationId": "version_verification_latest",
            "parameters": {
                "path.name": "$request.path.name",
                "path.version": "$request.path.version",
            },
        },
    },
}


# drf-spectacular calls a body optional when one of its media types is plain text; these
# operations refuse a call without one.
_BODY_REQUIRED = {"receipts_create"}


def _json_answer(operation: dict) -> bool:
    """Whether the operation answers JSON, so that DRF negotiates (and may refuse) it."""
    ok = [str(code) for code in operation["responses"] if str(code).startswith("2")]
    return any("application/json" in operation["responses"][code].get("content", {}) for code in ok)


def _error_response(description: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ERROR}}, "description": description}


def document_common_answers(result: dict, generator, request, public: bool) -> dict:
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", _ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            if operation.get("operationId") in _BODY_REQUIRED:
                operation["requestBody"]["required"] = True
            common = dict(_COMMON)
            if _json_answer(operation):
                common["406"] = _NOT_ACCEPTABLE
            if "requestBody" in operation:
                common["413"] = _TOO_LARGE
                common["415"] = _UNSUPPORTED
            for status, description in common.items():
                responses.setdefault(status, _error_response(description))
            responses["429"].setdefault("headers", _RETRY_AFTER)
            for (link_path, link_method, status), links in _LINKS.items():
                if (link_path, link_method) == (path, method) and status in responses:
                    responses[status]["links"] = links
    return result
