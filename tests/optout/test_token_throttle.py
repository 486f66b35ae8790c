"""Wrong status tokens per address: 429 on every owner page and API call, right tokens and
open pages unaffected, and a cache that is down degrades to unthrottled, never to a 500."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from optout.links import status_page_path, status_token_for
from tests.factories import make_request, open_status_page

pytestmark = pytest.mark.django_db

API = "/api/v1/requests/"
THIEF = "198.51.100.7"


@pytest.fixture
def limit(settings) -> int:
    settings.OPTOUT_WRONG_TOKENS_PER_IP = 3
    return 3


def _wrong_tokens(count: int, public_id, address: str = THIEF) -> list[int]:
    thief = Client(REMOTE_ADDR=address)
    return [
        thief.post(status_page_path(public_id), {"token": f"guess-{n}"}).status_code
        for n in range(count)
    ]


def _every_owner_endpoint(public_id, token: str, address: str = THIEF) -> dict[str, object]:
    """One call of each owner page and API operation that takes a token, from ``address``."""
    browser = Client(REMOTE_ADDR=address)
    path = status_page_path(public_id)
    header = {"HTTP_X_STATUS_TOKEN": token}
    return {
        "page form": browser.post(path, {"token": token}),
        "former link": browser.get(f"{path}?token={token}"),
        "check now": browser.post(f"{path}verify/", {"token": token}),
        "withdraw": browser.post(f"{path}withdraw/", {"token": token, "confirm": "on"}),
        "api read": browser.get(f"{API}{public_id}/", **header),
        "api verify": browser.post(f"{API}{public_id}/verify/", **header),
        "api withdraw": browser.post(
            f"{API}{public_id}/withdraw/", {}, content_type="application/json", **header
        ),
    }


def test_an_address_that_sent_too_many_wrong_tokens_gets_429_everywhere(limit) -> None:
    request = make_request(["octo/hello"])
    assert _wrong_tokens(limit, request.public_id) == [404] * limit

    answers = _every_owner_endpoint(request.public_id, "guess-again")

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 429)
    for name, answer in answers.items():
        assert 0 < int(answer["Retry-After"]) <= 900, name
    page = answers["page form"].content.decode()
    assert "Too many wrong tokens were sent from this network. Try again in " in page
    assert answers["api read"].json()["error"]["code"] == "throttled"
    assert (
        answers["api read"]
        .json()["error"]["message"]
        .startswith("Too many wrong tokens were sent from this network. Try again in ")
    )


def test_a_throttled_address_is_refused_even_the_right_token_so_guessing_learns_nothing(
    limit,
) -> None:
    request = make_request(["octo/hello"])
    _wrong_tokens(limit, request.public_id)
    answers = _every_owner_endpoint(request.public_id, status_token_for(request.public_id))
    assert {a.status_code for a in answers.values()} == {429}
    request.refresh_from_db()
    assert request.status == "pending_verification"


def test_right_tokens_other_addresses_and_open_pages_are_unaffected(limit) -> None:
    request = make_request(["octo/hello"])
    token = status_token_for(request.public_id)
    owner = Client(REMOTE_ADDR=THIEF)  # the owner shares the thief's address (a NAT)
    for _ in range(limit + 5):  # right tokens are never counted
        assert owner.post(status_page_path(request.public_id), {"token": token}).status_code == 303
    assert _wrong_tokens(limit, request.public_id) == [404] * limit
    # The owner's page, already open in this browser, keeps working from the same address.
    assert owner.get(status_page_path(request.public_id)).status_code == 200
    # Another address is not throttled, for pages and API alike.
    elsewhere = "203.0.113.50"
    assert (
        Client(REMOTE_ADDR=elsewhere)
        .get(f"{API}{request.public_id}/", HTTP_X_STATUS_TOKEN=token)
        .status_code
        == 200
    )
    browser = Client(REMOTE_ADDR=elsewhere)
    assert browser.get(open_status_page(browser, request)).status_code == 200


def test_wrong_tokens_through_the_api_count_as_on_the_page(limit) -> None:
    request = make_request(["octo/hello"])
    thief = Client(REMOTE_ADDR=THIEF)
    codes = [
        thief.get(f"{API}{request.public_id}/", HTTP_X_STATUS_TOKEN=f"g{n}").status_code
        for n in range(limit + 1)
    ]
    assert codes == [404] * limit + [429]
    assert _wrong_tokens(1, request.public_id) == [429]


def test_wrong_tokens_are_logged_with_the_address_and_never_the_token(limit, caplog) -> None:
    request = make_request(["octo/hello"])
    with caplog.at_level(logging.DEBUG):
        Client(REMOTE_ADDR=THIEF).post(
            status_page_path(request.public_id), {"token": "a-guess-to-find"}
        )
    (record,) = [r for r in caplog.records if r.name == "optout.token_throttle"]
    assert record.getMessage() == f"Wrong status token for request {request.public_id} from {THIEF}"
    assert "a-guess-to-find" not in caplog.text


def test_with_the_cache_down_tokens_are_checked_uncounted_never_a_500(
    limit, cache_down, caplog, git_server
) -> None:
    request = make_request(["git.loopback.test/alice/tool"])  # "Check now" reads loopback
    token = status_token_for(request.public_id)
    wrong = _wrong_tokens(limit + 2, request.public_id)
    assert wrong == [404] * (limit + 2)
    api_wrong = Client().get(f"{API}{request.public_id}/", HTTP_X_STATUS_TOKEN="guess")
    assert api_wrong.status_code == 404
    answers = _every_owner_endpoint(request.public_id, token, address="203.0.113.9")
    assert answers["page form"].status_code == 303
    assert answers["api read"].status_code == 200
    assert all(a.status_code < 500 for a in answers.values())
    assert "Wrong status tokens not counted: the cache is unreachable" in caplog.text
