"""The private link: the token in the fragment, exchanged once for a cookie of the page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from optout.enums import RequestStatus
from optout.links import status_page_path, status_path, status_token_for, token_from_pasted
from optout.models import RemovalRequest
from optout.status_cookie import COOKIE_NAME
from tests.factories import make_request, open_status_page

pytestmark = pytest.mark.django_db


def _masked(response) -> str:
    html = response.content.decode()
    html = re.sub(r"/requests/[0-9a-f-]{36}/", "/requests/…/", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)


def test_the_e_mailed_link_carries_the_token_only_in_its_fragment(
    client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/requests/new/", {"subjects": "octo/a", "contact_email": "o@example.org"})
    (sent,) = mail.outbox
    (link,) = re.findall(r"http://127\.0\.0\.1:8000(/requests/\S+)", sent.body)
    path, fragment = link.split("#", 1)
    token = fragment.removeprefix("t=")
    assert "?" not in link and "token" not in path
    request = RemovalRequest.objects.get()
    assert token == status_token_for(request.public_id)
    assert f'href="http://127.0.0.1:8000{link}"' in sent.alternatives[0][0]


def test_a_fresh_browser_opens_the_link_by_posting_the_token_once_for_a_cookie(client) -> None:
    request = make_request(["octo/hello"])
    path = status_page_path(request.public_id)

    # What the browser asks for: the address without the fragment. The page holds the form
    # its script posts, and says how to open it without JavaScript.
    locked = client.get(path)
    assert locked.status_code == 404
    html = locked.content.decode()
    assert f'<form method="post" action="{path}" id="open-request"' in html
    assert 'name="token"' in html and "js/status-link.js" in html
    assert "Your private link, or the token after <code>#t=</code>" in html

    opened = client.post(path, {"token": status_token_for(request.public_id)})
    assert (opened.status_code, opened["Location"]) == (303, path)
    cookie = opened.cookies[COOKIE_NAME]
    assert cookie["path"] == path
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True  # tests run with DEBUG off, as production
    assert cookie["max-age"] == 30 * 86400
    assert status_token_for(request.public_id) not in cookie.value

    page = client.get(path)
    assert page.status_code == 200
    assert '<span class="status">Pending verification</span>' in page.content.decode()
    assert 'name="token"' not in page.content.decode()  # the forms no longer carry it


def test_the_cookie_is_not_secure_only_in_development(client, settings) -> None:
    settings.DEBUG = True
    request = make_request(["octo/hello"])
    opened = client.post(
        status_page_path(request.public_id), {"token": status_token_for(request.public_id)}
    )
    assert opened.cookies[COOKIE_NAME]["secure"] == ""


def test_a_pasted_whole_link_opens_the_page_as_the_token_alone_does(client) -> None:
    request = make_request(["octo/hello"])
    token = status_token_for(request.public_id)
    for pasted in (
        f"https://optout.example{status_path(request.public_id, token)}",
        f"  https://optout.example/requests/{request.public_id}/?token={token}  ",
        token,
    ):
        assert token_from_pasted(pasted) == token
        browser = Client()
        response = browser.post(status_page_path(request.public_id), {"token": pasted})
        assert response.status_code == 303, pasted


def test_the_link_opens_again_and_in_any_number_of_browsers(client) -> None:
    request = make_request(["octo/hello"])
    path = open_status_page(client, request)
    assert open_status_page(client, request) == path  # clicked again in the same browser
    assert client.get(path).status_code == 200
    other = Client()
    assert other.get(open_status_page(other, request)).status_code == 200


def test_a_link_of_the_former_kind_opens_once_and_drops_the_query(client) -> None:
    request = make_request(["octo/hello"])
    path = status_page_path(request.public_id)
    old = client.get(f"{path}?token={status_token_for(request.public_id)}")
    assert (old.status_code, old["Location"]) == (303, path)
    assert old.cookies[COOKIE_NAME]["path"] == path
    assert client.get(path).status_code == 200


def test_missing_wrong_and_unknown_are_answered_the_same(client) -> None:
    request = make_request(["octo/hello"])
    other = make_request(["octo/other"], email="other@example.org")
    path = status_page_path(request.public_id)
    unknown = "/requests/00000000-0000-4000-8000-000000000000/"
    with_others_cookie = Client()
    open_status_page(with_others_cookie, other)
    tampered = Client()
    tampered.cookies[COOKIE_NAME] = "0" * 32 + ":forged"

    answers = [
        Client().get(path),
        Client().get(f"{path}?token=guess"),
        Client().post(path, {"token": "guess"}),
        Client().post(path, {}),
        Client().post(path, {"token": status_token_for(other.public_id)}),
        Client().get(f"{unknown}?token={status_token_for(request.public_id)}"),
        Client().get(unknown),
        with_others_cookie.get(path),
        tampered.get(path),
    ]

    assert {answer.status_code for answer in answers} == {404}
    assert len({_masked(answer) for answer in answers}) == 1
    assert all(COOKIE_NAME not in answer.cookies for answer in answers)


def test_an_expired_cookie_is_answered_as_no_cookie(client, settings) -> None:
    request = make_request(["octo/hello"])
    path = open_status_page(client, request)
    settings.OPTOUT_STATUS_COOKIE_DAYS = 0  # every signature is now older than allowed
    expired = client.get(path)
    assert expired.status_code == 404
    assert _masked(expired) == _masked(Client().get(path))


def test_check_now_and_withdraw_need_the_cookie_or_the_token(client) -> None:
    request = make_request(["octo/hello"])
    for name in ("verify", "withdraw"):
        response = Client().post(f"/requests/{request.public_id}/{name}/", {"confirm": "on"})
        assert response.status_code == 404
        assert "Open your removal request" in response.content.decode()
    other = make_request(["octo/other"], email="other@example.org")
    with_others_cookie = Client()
    open_status_page(with_others_cookie, other)
    response = with_others_cookie.post(
        f"/requests/{request.public_id}/withdraw/", {"confirm": "on"}
    )
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING_VERIFICATION
    open_status_page(client, request)
    done = client.post(f"/requests/{request.public_id}/withdraw/", {"confirm": "on"})
    assert (done.status_code, done["Location"]) == (302, status_page_path(request.public_id))
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN


def test_the_submitting_browser_holds_the_cookie_at_once(client) -> None:
    response = client.post(
        "/requests/new/", {"subjects": "octo/hello", "contact_email": "o@example.org"}
    )
    assert response.status_code == 201
    path, _ = response.context["status_link"].removeprefix("http://testserver").split("#t=")
    assert response.cookies[COOKIE_NAME]["path"] == path
    assert client.get(path).status_code == 200
