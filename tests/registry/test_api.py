import pytest

from registry.services import exclusion_add

pytestmark = pytest.mark.django_db


def test_check_answers_with_the_matching_namespace_exclusion(client) -> None:
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    body = client.get("/api/v1/check", {"repo": "https://github.com/Org/Repo"}).json()
    assert body["repo"] == "github.com/org/repo"
    assert body["excluded"] is True
    assert body["exclusion"]["subject"] == "github.com/org"


def test_check_errors_have_the_single_error_shape(client) -> None:
    response = client.get("/api/v1/check", {"repo": "notahost.example/a/b"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "not a supported host" in error["fields"]["repo"][0]
    missing = client.get("/api/v1/check").json()["error"]
    assert missing["fields"]["repo"] == ["This field is required."]
