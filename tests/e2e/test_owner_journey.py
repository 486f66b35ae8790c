"""An owner and a maintainer, in a real browser."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from optout.models import RemovalRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_fixes_a_bad_line_without_retyping_and_reaches_the_status_page(
    live_server, page
) -> None:
    page.goto(live_server.url)
    page.get_by_role("link", name="Request removal").click()
    page.get_by_label("Repositories or namespaces").fill("octo/hello\nftp://nowhere/x")
    page.get_by_label("Contact e-mail").fill("owner@example.org")
    page.get_by_role("button", name="Submit request").click()

    assert "Line 2:" in page.locator(".errorlist").inner_text()
    field = page.get_by_label("Repositories or namespaces")
    assert field.input_value() == "octo/hello\nftp://nowhere/x"
    assert page.get_by_label("Contact e-mail").input_value() == "owner@example.org"

    field.fill("octo/hello")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_role("heading", name="Request received").wait_for()
    page.locator("main a[href*='#t=']").click()

    assert page.locator(".status").inner_text() == "Pending verification"
    assert "github.com/octo/hello" in page.locator("main").inner_text()
    assert RemovalRequest.objects.get().subjects.get().subject == "github.com/octo/hello"


def test_a_maintainer_signs_in_and_finds_the_request_in_the_queue(live_server, page) -> None:
    get_user_model().objects.create_superuser("maint", "m@example.org", "a-long-password-42")
    page.goto(f"{live_server.url}/requests/new/")
    page.get_by_label("Repositories or namespaces").fill("github.com/some-org")
    page.get_by_label("Contact e-mail").fill("org@example.org")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_role("heading", name="Request received").wait_for()

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("maint")
    page.get_by_label("Password").fill("a-long-password-42")
    page.get_by_role("button", name="Log in").click()
    # The queue shows verified requests by default; this one still waits for its proof.
    page.goto(f"{live_server.url}/admin/optout/removalrequest/?state=pending_verification")
    assert "org@example.org" in page.locator("#result_list").inner_text()
