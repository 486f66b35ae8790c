"""Errors raised outside API views still answer API clients in the single error shape."""

import json

import pytest
from django.test import RequestFactory

from governance import error_pages

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_answers_json_in_the_error_shape(client) -> None:
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_answers_html_with_a_way_back(client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_a_form_django_refuses_before_any_view_gets_a_readable_page(client, settings) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    body = "a=1&b=2&c=3&d=4&e=5"
    response = client.post("/requests/new/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (error_pages.bad_request, 400, "bad_request"),
        (error_pages.permission_denied, 403, "permission_denied"),
        (error_pages.server_error, 500, "server_error"),
    ],
)
def test_api_paths_get_every_error_in_the_single_shape(handler, status: int, code: str) -> None:
    response = handler(RequestFactory().get("/api/v1/check"))
    assert response.status_code == status
    assert json.loads(response.content) == {
        "error": {"code": code, "message": error_pages._MESSAGES[status][1], "fields": {}}
    }
