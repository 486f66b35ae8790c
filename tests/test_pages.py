"""Every page a newcomer opens first answers, and each ModelAdmin page renders."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/admin/login/", "/api/schema/", "/api/docs/", "/healthz"])
def test_the_first_pages_load(client, url: str) -> None:
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "model",
    [
        "optout/removalrequest",
        "registry/exclusion",
        "registry/logentry",
        "governance/dataset",
        "governance/datasetversion",
    ],
)
def test_each_admin_changelist_renders(client, model: str, tmp_path) -> None:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-123456789")
    client.force_login(admin)
    approve(make_request(["octo/hello"]))
    make_dataset(tmp_path)
    assert client.get(f"/admin/{model}/").status_code == 200


def test_the_submit_page_keeps_what_was_typed_and_names_the_bad_line(client) -> None:
    response = client.post(
        reverse("optout:submit"),
        {"subjects": "octo/hello\nftp://nowhere/x", "contact_email": "a@example.org"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2:" in body
    assert "octo/hello" in body


def test_the_status_page_opens_only_with_the_secret_token(client) -> None:
    response = client.post(
        reverse("optout:submit"), {"subjects": "octo/hello", "contact_email": "a@example.org"}
    )
    link = response.context["status_link"]
    path, token = link.split("#t=")
    stranger = Client()
    assert stranger.get(path).status_code == 404
    assert stranger.get(path + "?token=wrong").status_code == 404
    assert stranger.post(path, {"token": "wrong"}).status_code == 404
    assert stranger.post(path, {"token": token}).status_code == 303
    assert stranger.get(path).status_code == 200


def test_the_admin_offers_only_pipeline_tokens_not_the_unused_library_keys(client) -> None:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-123456789")
    client.force_login(admin)
    index = client.get("/admin/").content.decode()
    assert "/admin/registry/pipelinetoken/" in index
    assert "/admin/rest_framework_api_key/" not in index


def test_the_api_docs_load_swagger_ui_from_our_own_static_files(client) -> None:
    body = client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', body)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts and all(a.startswith("/static/") for a in scripts)
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]  # no other host
    assert "cdn" not in body.lower()
