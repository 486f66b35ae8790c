import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from registry.models import PipelineToken
from registry.tokens import TokenError, token_create

pytestmark = pytest.mark.django_db
EXPORT = "/api/v1/exclusions/export"


def test_a_token_is_stored_only_as_a_hash() -> None:
    token, key = token_create(name="mirror", scopes=["registry:read"], expires_days=30)
    assert key.split(".")[0] == token.prefix
    stored = PipelineToken.objects.get(prefix=token.prefix)
    assert key not in stored.hashed_key and stored.hashed_key.startswith("sha512$$")
    assert stored.scopes == "registry:read"
    assert 29 <= (stored.expiry_date - timezone.now()).days <= 30


def test_it_rejects_a_missing_token_with_the_error_shape(client) -> None:
    response = client.get(EXPORT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "Api-Key" in response.json()["error"]["message"]


def test_it_rejects_an_unknown_token(client) -> None:
    response = client.get(EXPORT, HTTP_AUTHORIZATION="Api-Key abcdefgh.nothing")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The API token is unknown or revoked."


def test_it_rejects_a_revoked_token(client, token) -> None:
    PipelineToken.objects.update(revoked=True)
    response = client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {token}")
    assert response.status_code == 401


def test_it_rejects_an_expired_token(client, token) -> None:
    PipelineToken.objects.update(expiry_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {token}")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_it_refuses_a_token_without_the_read_scope(client, token) -> None:
    PipelineToken.objects.update(scopes="something:else")
    response = client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {token}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_command_prints_a_working_token_once(client, capsys) -> None:
    call_command(
        "create_api_token", "--name", "ci", "--scope", "registry:read", "--expires-days", "7"
    )
    out, err = capsys.readouterr()
    key = out.strip()
    assert "cannot be shown again" in err
    assert client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    with pytest.raises(CommandError, match="1 or more"):
        call_command(
            "create_api_token", "--name", "x", "--scope", "registry:read", "--expires-days", "0"
        )


def test_it_rejects_unknown_scopes() -> None:
    with pytest.raises(TokenError, match="Unknown scope"):
        token_create(name="x", scopes=["registry:write"])


def test_the_admin_shows_a_new_token_once(admin_client) -> None:
    response = admin_client.post(
        "/admin/registry/pipelinetoken/add/",
        {"name": "mirror", "scopes": "registry:read", "expiry_date_0": "", "expiry_date_1": ""},
        follow=True,
    )
    token = PipelineToken.objects.get()
    message = next(str(m) for m in response.context["messages"])
    key = message.split('The token for mirror is <code id="once-shown-key">')[1].split("<")[0]
    assert key.startswith(token.prefix + ".")
    assert PipelineToken.objects.get_from_key(key) == token
    assert admin_client.get("/admin/registry/pipelinetoken/").status_code == 200


def test_the_admin_refuses_an_unknown_scope(admin_client) -> None:
    response = admin_client.post(
        "/admin/registry/pipelinetoken/add/",
        {"name": "mirror", "scopes": ["registry:write"], "expiry_date_0": "", "expiry_date_1": ""},
    )
    assert response.status_code == 200
    assert "registry:write is not one of the available choices" in response.content.decode()
    assert PipelineToken.objects.count() == 0


def test_a_token_with_a_future_expiry_is_accepted(client) -> None:
    _, key = token_create(name="mirror", scopes=["registry:read"], expires_days=1)
    response = client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 200


def test_it_rejects_a_known_prefix_with_a_wrong_secret(client, token) -> None:
    prefix = token.split(".")[0]
    response = client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {prefix}.not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The API token is unknown or revoked."


def test_a_revocation_applies_to_the_very_next_call(client, token) -> None:
    assert client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {token}").status_code == 200
    PipelineToken.objects.update(revoked=True)
    assert client.get(EXPORT, HTTP_AUTHORIZATION=f"Api-Key {token}").status_code == 401
