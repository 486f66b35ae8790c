"""The owner API: create, read, verify, withdraw; every error in the single shape."""

from __future__ import annotations

import pytest
from django.core import mail

from optout.enums import RequestStatus
from optout.links import status_token_for
from optout.models import RemovalRequest
from optout.services import request_transition
from registry.models import Exclusion
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db

BASE = "/api/v1/requests/"


def _create(client, subjects, email="owner@example.org", **extra):
    return client.post(
        BASE,
        {"subjects": subjects, "contact_email": email},
        content_type="application/json",
        **extra,
    )


def test_it_creates_a_request_and_answers_each_line(client) -> None:
    response = _create(client, ["https://github.com/Octo/Hello.git", "octo/hello", "gitlab.com/g"])
    assert response.status_code == 201
    body = response.json()
    request = RemovalRequest.objects.get()
    assert body["id"] == str(request.public_id)
    assert body["status"] == "pending_verification"
    assert body["status_token"] == status_token_for(request.public_id)
    assert body["status_url"] == (
        f"http://127.0.0.1:8000/requests/{request.public_id}/#t={body['status_token']}"
    )
    assert body["verification_token"] == request.verification_token
    assert [(r["line"], r["outcome"], r["canonical"], r["kind"]) for r in body["lines"]] == [
        (1, "accepted", "github.com/octo/hello", "repository"),
        (2, "duplicate", "github.com/octo/hello", "repository"),
        (3, "accepted", "gitlab.com/g", "namespace"),
    ]


def test_bad_lines_come_back_in_the_single_error_shape(client) -> None:
    response = _create(client, ["octo/hello", "file:///etc/passwd", "octocat"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "subjects[1]": [
            "file:// addresses are not accepted; paste an https:// URL, a git@ SSH address, "
            "or host/owner/name."
        ],
        "subjects[2]": [
            "'octocat' is only one name. For every repository of a user or organisation write "
            "it with its host, e.g. github.com/octocat; for one repository write owner/name."
        ],
    }
    assert RemovalRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subjects": [], "contact_email": "a@example.org"}, "subjects"),
        ({"subjects": ["octo/x"] * 1001, "contact_email": "a@example.org"}, "subjects"),
        ({"subjects": ["octo/x"], "contact_email": "nope"}, "contact_email"),
        ({"subjects": "octo/x", "contact_email": "a@example.org"}, "subjects"),
    ],
)
def test_malformed_bodies_name_the_field(client, payload, field) -> None:
    response = client.post(BASE, payload, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_submissions_are_throttled_in_the_api_too(client, settings) -> None:
    settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL = 1
    assert _create(client, ["octo/a"]).status_code == 201
    response = _create(client, ["octo/b"])
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["message"].startswith("Too many requests were submitted")


def test_reading_a_request_needs_its_token(client) -> None:
    request = make_request(["octo/hello"])
    token = status_token_for(request.public_id)
    missing = client.get(f"{BASE}{request.public_id}/")
    wrong = client.get(f"{BASE}{request.public_id}/", HTTP_X_STATUS_TOKEN="guess")
    assert (missing.status_code, wrong.status_code) == (404, 404)
    assert missing.json() == wrong.json()
    assert wrong.json()["error"]["code"] == "not_found"
    body = client.get(f"{BASE}{request.public_id}/", HTTP_X_STATUS_TOKEN=token).json()
    assert body["status"] == "pending_verification"
    assert [s["subject"] for s in body["subjects"]] == ["github.com/octo/hello"]
    assert body["next_release"] == {"at": None, "note": "when maintainers run one"}
    assert body["next_step"].startswith("Prove that you control what you named")


def test_a_token_in_the_query_string_is_refused_with_the_way_to_send_it(client) -> None:
    request = make_request(["octo/hello"])
    token = status_token_for(request.public_id)
    by_query = client.get(f"{BASE}{request.public_id}/?token={token}")
    assert by_query.status_code == 400
    assert by_query.json()["error"]["fields"] == {
        "token": [
            "Send the status token in the X-Status-Token header: a token in the query string "
            "is written to access logs, so it is not accepted."
        ]
    }


def test_verify_records_evidence_and_verifies(client, git_server) -> None:
    request = make_request(["git.loopback.test/acme"])
    git_server.create_repository(f"acme/dataset-optout-{request.verification_token}", None)
    token = status_token_for(request.public_id)
    response = client.post(f"{BASE}{request.public_id}/verify/", HTTP_X_STATUS_TOKEN=token)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "verified"
    (evidence,) = body["evidence"]
    assert (evidence["method"], evidence["succeeded"]) == ("namespace_repository", True)
    assert evidence["evidence"]["repository"] == (
        f"git.loopback.test/acme/dataset-optout-{request.verification_token}"
    )
    again = client.post(f"{BASE}{request.public_id}/verify/", HTTP_X_STATUS_TOKEN=token)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "This request is verified; only requests pending verification are checked.",
        "fields": {},
    }


def test_verify_is_rate_limited(client, git_server, settings) -> None:
    settings.OPTOUT_VERIFICATIONS_PER_HOUR = 1
    request = make_request(["git.loopback.test/alice/tool"])
    token = status_token_for(request.public_id)
    assert (
        client.post(f"{BASE}{request.public_id}/verify/", HTTP_X_STATUS_TOKEN=token).status_code
        == 200
    )
    response = client.post(f"{BASE}{request.public_id}/verify/", HTTP_X_STATUS_TOKEN=token)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_withdraw_removes_the_exclusion_and_mails_the_owner(
    client, django_capture_on_commit_callbacks
) -> None:
    request = approve(make_request(["octo/hello"]))
    token = status_token_for(request.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{BASE}{request.public_id}/withdraw/",
            {"reason": "opting back in"},
            content_type="application/json",
            HTTP_X_STATUS_TOKEN=token,
        )
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert not Exclusion.objects.filter(active=True).exists()
    assert [m.subject for m in mail.outbox] == ["Your opt-out request is now withdrawn"]
    twice = client.post(
        f"{BASE}{request.public_id}/withdraw/",
        content_type="application/json",
        HTTP_X_STATUS_TOKEN=token,
    )
    assert twice.status_code == 409
    assert (
        twice.json()["error"]["message"] == "A request that is withdrawn cannot become withdrawn."
    )
    assert RemovalRequest.objects.get().status == RequestStatus.WITHDRAWN


def test_the_owner_api_is_in_the_openapi_schema(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    assert {
        "/api/v1/requests/",
        "/api/v1/requests/{public_id}/",
        "/api/v1/requests/{public_id}/verify/",
        "/api/v1/requests/{public_id}/withdraw/",
    } <= set(schema["paths"])
    verify = schema["paths"]["/api/v1/requests/{public_id}/verify/"]["post"]
    assert set(verify["responses"]) == {"200", "202", "400", "404", "406", "409", "429"}
    assert verify["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }


@pytest.mark.parametrize(
    "public_id", ["not-a-uuid", "null%2Cnull", "00000000-0000-4000-8000-000000000000"]
)
def test_a_malformed_or_unknown_id_gets_the_json_404(client, public_id) -> None:
    response = client.get(f"{BASE}{public_id}/", HTTP_X_STATUS_TOKEN="x")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_a_form_encoded_body_is_refused_in_the_error_shape(client) -> None:
    response = client.post(BASE, {"subjects": ["octo/x"] * 1500, "contact_email": "a@example.org"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def _masked(body: dict) -> dict:
    # What differs between any two requests: their id, tokens, link and expiry.
    secrets = ("id", "status_url", "status_token", "verification_token", "expires_at")
    return {key: ("…" if key in secrets else value) for key, value in body.items()}


def test_the_answer_is_the_same_whether_or_not_the_address_has_that_subject_open(
    client,
) -> None:
    make_request(["octo/secret"], email="victim@example.org")
    while_open = _create(client, ["octo/secret", "octo/new"], "victim@example.org")
    for request in RemovalRequest.objects.all():
        request_transition(request_id=request.id, to_status=RequestStatus.WITHDRAWN)
    while_none = _create(client, ["octo/secret", "octo/new"], "victim@example.org")
    assert (while_open.status_code, while_none.status_code) == (201, 201)
    assert _masked(while_open.json()) == _masked(while_none.json())
    assert [line["outcome"] for line in while_open.json()["lines"]] == ["accepted", "accepted"]
    assert while_open.json()["id"] != while_none.json()["id"]


@pytest.mark.parametrize("reason", [0, False, ["why"]])
def test_a_reason_that_is_not_text_is_refused(client, reason) -> None:
    response = client.post(
        BASE,
        {"subjects": ["octo/hello"], "contact_email": "o@example.org", "reason": reason},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert not RemovalRequest.objects.exists()
