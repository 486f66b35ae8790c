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
    error = _error(response, 400, "too_large")
    assert f"over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in error["message"]


def test_a_bad_host_header_is_refused_in_the_error_shape(anyone) -> None:
    response = anyone.get("/api/v1/check", {"repo": "a/b"}, HTTP_HOST="evil.example")
    assert "Host header" in _error(response, 400, "bad_host")["message"]


def test_an_unknown_api_path_is_a_404_in_the_error_shape(anyone) -> None:
    _error(anyone.get("/api/v1/nothing-here"), 404, "not_found")
