"""Hostile input on /api/ gets a 4xx in the single error shape, never a 500 or HTML,
including requests Django refuses before or around a view."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def anyone() -> Client:
    return Client(raise_request_exception=False)  # a 500 is an answer here, not a crash


def _error(response, status: int, code: str) -> dict:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json")
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_1500_query_parameters_on_the_check_are_refused_with_the_limit(anyone) -> None:
    query = "&".join(f"x{i}=1" for i in range(1500))
    error = _error(anyone.get(f"/api/v1/check?repo=a/b&{query}"), 400, "too_many_fields")
    assert "more than 1,000 query or form fields" in error["message"]


def test_too_many_fields_are_refused_on_a_token_endpoint_too(anyone, auth) -> None:
    query = "&".join(f"x{i}=1" for i in range(1500))
    _error(anyone.get(f"/api/v1/exclusions/export?{query}", **auth), 400, "too_many_fields")


@pytest.mark.parametrize("path", ["/api/v1/check", "/api/v1/requests/"])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(anyone, auth, path) -> None:
    response = anyone.post(path, DEEP, content_type="application/json", **auth)
    assert "nested too deeply" in _error(response, 400, "parse_error")["message"]


def test_nesting_inside_a_valid_object_is_refused_too(anyone, auth) -> None:
    body = '{"repos": ' + "[" * 5000 + "]" * 5000 + "}"
    response = anyone.post("/api/v1/check", body, content_type="application/json", **auth)
    _error(response, 400, "parse_error")


@pytest.mark.parametrize("path", ["/api/v1/check", "/api/v1/requests/"])
def test_a_json_body_over_the_upload_limit_is_refused(anyone, auth, settings, path) -> None:
    body = '{"repos": ["' + "x" * 3_000_000 + '"]}'
    response = anyone.post(path, body, content_type="application/json", **auth)
    error = _error(response, 413, "too_large")
    assert f"over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in error["message"]


def test_a_bad_host_header_is_refused_in_the_error_shape(anyone) -> None:
    response = anyone.get("/api/v1/check", {"repo": "a/b"}, HTTP_HOST="evil.example")
    assert "Host header" in _error(response, 400, "bad_host")["message"]


def test_an_unknown_api_path_is_a_404_in_the_error_shape(anyone) -> None:
    _error(anyone.get("/api/v1/nothing-here"), 404, "not_found")


def test_a_plain_text_bulk_check_over_its_limit_is_a_413(anyone, auth) -> None:
    body = ("github.com/octo/hello\n" * 400_000).encode()  # 8.8 MB
    response = anyone.post("/api/v1/check", body, content_type="text/plain", **auth)
    assert "over 8,388,608 bytes" in _error(response, 413, "too_large")["message"]


@pytest.mark.parametrize(
    "path", ["/api/v1/log/checkpoint", "/api/v1/log/key", "/api/v1/receipts/checkpoint"]
)
def test_a_text_endpoint_answers_a_client_that_asks_for_text(anyone, path) -> None:
    response = anyone.get(path, HTTP_ACCEPT="text/plain")
    assert (response.status_code, response["Content-Type"]) == (200, "text/plain; charset=utf-8")


@pytest.mark.parametrize(
    "path", ["/api/v1/check?repo=a/b", "/api/v1/datasets/", "/api/v1/requests/x/"]
)
def test_a_browser_asking_for_html_gets_json_or_a_406_never_a_page(anyone, path) -> None:
    browser = anyone.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert browser["Content-Type"] == "application/json"
    _error(anyone.get(path, HTTP_ACCEPT="text/html"), 406, "not_acceptable")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/log/key",
        "/api/v1/datasets/",
        "/api/v1/transparency",
        "/api/v1/requests/",
        "/api/v1/nothing-here",
        "/.well-known/opt-out-log-key",
    ],
)
def test_a_bad_host_is_refused_in_the_error_shape_on_every_api_path(anyone, path) -> None:
    _error(anyone.get(path, HTTP_HOST="evil.example"), 400, "bad_host")


@pytest.mark.parametrize("path", ["/api/v1/check", "/api/v1/requests/", "/api/v1/receipts/"])
def test_a_form_body_of_many_fields_is_an_unsupported_media_type(anyone, auth, path) -> None:
    body = "&".join(f"x{i}=1" for i in range(1500))
    response = anyone.post(path, body, content_type="application/x-www-form-urlencoded", **auth)
    _error(response, 415, "unsupported_media_type")
