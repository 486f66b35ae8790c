"""The home page's private check, in a real browser: the answer is computed in the page and
no request names the repository."""

from __future__ import annotations

import pytest

from registry.services import exclusion_add

pytestmark = pytest.mark.django_db(transaction=True)  # range files are written on commit


@pytest.fixture
def exclusions() -> None:
    exclusion_add(kind="namespace", subject="github.com/secret-org", cause="c:1")
    exclusion_add(kind="repository", subject="gitlab.com/grp/sub/hidden-repo", cause="c:2")


def test_the_private_check_answers_without_sending_the_name(live_server, page, exclusions):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url)
    page.get_by_label("A repository or an owner").fill("https://github.com/Secret-Org/Plans.git")
    page.get_by_role("button", name="Check privately").click()
    answer = page.locator("#private-answer")
    answer.filter(has_text="excluded").wait_for()
    assert answer.inner_text().startswith(
        "github.com/secret-org/plans is excluded through github.com/secret-org/* (registry "
        "checkpoint 2; the portal saw only the hash prefixes "
    )
    page.get_by_label("A repository or an owner").fill("gitlab.com/grp/sub/other")
    page.get_by_role("button", name="Check privately").click()
    answer.filter(has_text="not excluded").wait_for()
    after_load = [url for url in requested if "/mirror/" in url]
    assert after_load and all("/mirror/ranges/" in url for url in after_load)
    names = ("secret", "plans", "grp", "other", "github", "gitlab")
    assert not [url for url in requested if any(name in url.lower() for name in names)]


def test_without_javascript_the_page_says_the_ordinary_check_sends_the_name(
    live_server, browser, exclusions
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url)
    assert "Look up is the ordinary check: it sends the name" in page.locator("main").inner_text()
    assert not page.get_by_role("button", name="Check privately").is_visible()
    context.close()
