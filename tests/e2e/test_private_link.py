"""The e-mailed private link in a real browser: with JavaScript it opens by itself and the
token leaves the address bar; without, the owner pastes the link into the page's form."""

from __future__ import annotations

import pytest

from optout.links import status_path, status_token_for
from optout.status_cookie import COOKIE_NAME
from tests.e2e.checks import check_page
from tests.factories import make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_e_mailed_link_opens_the_page_and_leaves_no_token_in_the_address_bar(
    live_server, browser
) -> None:
    request = make_request(["octo/fragment"])
    token = status_token_for(request.public_id)
    link = live_server.url + status_path(request.public_id, token)
    context = browser.new_context()  # a browser that never saw the portal: from the e-mail
    page = context.new_page()
    page.set_default_timeout(15_000)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url + "\n" + (r.post_data or "")))

    page.goto(link)
    page.get_by_role("heading", name="Your removal request").wait_for()

    assert page.url == f"{live_server.url}/requests/{request.public_id}/"
    assert page.locator(".status").inner_text() == "Pending verification"
    assert page.evaluate("history.length") <= 2 and token not in page.evaluate("location.href")
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
    assert (cookie["path"], cookie["httpOnly"]) == (f"/requests/{request.public_id}/", True)
    # The token left the browser once, in the body of the form's POST; never in a URL.
    assert [token in url.split("\n")[0] for url in sent] == [False] * len(sent)
    assert sum(token in url.split("\n")[1] for url in sent) == 1

    page.goto(link)  # the same e-mail link, clicked again
    page.get_by_role("heading", name="Your removal request").wait_for()
    context.close()


def test_without_javascript_the_owner_pastes_the_link(live_server, browser) -> None:
    request = make_request(["octo/nojs"])
    link = live_server.url + status_path(request.public_id, status_token_for(request.public_id))
    context = browser.new_context(java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(link)
    page.get_by_role("heading", name="Open your removal request").wait_for()
    page.get_by_label("Your private link, or the token after #t=").fill(link)
    page.get_by_role("button", name="Open").click()

    page.get_by_role("heading", name="Your removal request").wait_for()
    assert page.url == f"{live_server.url}/requests/{request.public_id}/"
    context.close()


def test_the_token_form_passes_axe(live_server, site_page) -> None:
    request = make_request(["octo/axe"])
    site_page.goto(f"{live_server.url}/requests/{request.public_id}/")
    site_page.get_by_role("heading", name="Open your removal request").wait_for()
    check_page(site_page, "status-locked")
