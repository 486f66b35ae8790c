"""The owner's journey of the site, in Chromium: look up, request, prove, get reviewed,
see the repository leave the next version. axe-core checks every page on the way."""

from __future__ import annotations

import time
from importlib import import_module

import pyarrow.parquet as pq
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.releases import release_start, version_folder
from optout.enums import RequestStatus
from optout.models import RemovalRequest
from tests.e2e.checks import check_page
from tests.factories import make_dataset
from tests.optout.conftest import LOOPBACK_HOST

pytestmark = pytest.mark.django_db(transaction=True)


def _reviewer_group() -> Group:
    """The group its data migration makes (a transactional test before this one may have
    flushed it away), made by that migration's own function."""
    migration = import_module("governance.migrations.0005_reviewer_group")
    migration.create_reviewer_group(apps, None)
    return Group.objects.get(name=migration.GROUP)


def _until(condition, what: str, timeout: float = 60) -> None:
    """Wait for ``condition`` (a bound for slow machines, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not after {timeout} s")


def test_an_owner_finds_their_repository_opts_out_and_sees_it_leave_the_next_version(
    live_server, site_page, git_server, tmp_path
) -> None:
    page = site_page
    dataset = make_dataset(tmp_path)
    dataset.implied_host = LOOPBACK_HOST
    dataset.save()
    release_start(dataset_id=dataset.id)
    first = DatasetVersion.objects.get(dataset=dataset, status=VersionStatus.PUBLISHED)
    names = pq.read_table(version_folder(first) / "data", columns=["repo_name"]).column(0)
    owner, name = sorted(set(names.to_pylist()))[0].split("/")
    repository = f"{LOOPBACK_HOST}/{owner}/{name}"

    # 1. Is my code in the dataset? Yes, in 1.0.0.
    page.goto(live_server.url)
    check_page(page, "home")
    page.get_by_label("A repository or an owner").fill(f"https://{LOOPBACK_HOST}/{owner}/{name}")
    page.get_by_role("button", name="Look up").click()
    assert "In the latest version, 1.0.0" in page.locator("main").inner_text()
    check_page(page, "lookup-present")

    # 2. Request removal from the pre-filled form.
    page.get_by_role("link", name=f"Request removal of {repository}").click()
    assert page.get_by_label("Repositories or namespaces").input_value() == repository
    check_page(page, "submit")
    page.get_by_label("Contact e-mail").fill("owner@example.org")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_role("heading", name="Request received").wait_for()
    check_page(page, "submitted")
    private_link = page.locator("main a[href*='#t=']").first.get_attribute("href")
    page.locator("main a[href*='#t=']").first.click()
    check_page(page, "status-pending")

    # 3. Prove control with the file method, against the loopback git server.
    token = page.locator("code[data-copy='the token']").inner_text().strip()
    git_server.create_repository(f"{owner}/{name}", {".dataset-optout": token + "\n"})
    # The check runs while the POST is answered: wait for its redirect to land before the
    # reload below, or the reload races the navigation ("not attached to an active page").
    with page.expect_navigation():
        page.get_by_role("button", name="Check now").click()
    request = RemovalRequest.objects.get()
    _until(
        lambda: RemovalRequest.objects.get(id=request.id).status == RequestStatus.VERIFIED,
        "the request verified",
    )
    page.reload()
    assert page.locator(".status").inner_text() == "Verified"
    check_page(page, "status-verified")

    # 4. A reviewer (not a superuser) approves it with a reason, then releases.
    reviewer = get_user_model().objects.create_user(
        "reviewer", "r@example.org", "a-long-password-42", is_staff=True
    )
    reviewer.groups.add(_reviewer_group())
    page.goto(f"{live_server.url}/admin/login/")
    check_page(page, "admin-login")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("a-long-password-42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/optout/removalrequest/{request.id}/change/")
    check_page(page, "admin-request")
    page.locator("#id_decision_reason").fill("Control proven by the file method.")
    page.get_by_role("button", name="Approve").click()
    _until(
        lambda: RemovalRequest.objects.get(id=request.id).status == RequestStatus.APPROVED,
        "the request approved",
    )
    page.goto(f"{live_server.url}/admin/governance/dataset/")
    page.locator("input[name='_selected_action']").first.check()
    page.locator("select[name='action']").select_option(label="Release now")
    page.get_by_role("button", name="Go").click()
    _until(
        lambda: DatasetVersion.objects.filter(
            dataset=dataset, version="1.0.1", status=VersionStatus.PUBLISHED
        ).exists(),
        "version 1.0.1 published",
    )
    page.context.clear_cookies()  # the owner again, not the reviewer

    # 5. The owner's lookup, the version's changelog and the transparency page agree.
    page.goto(f"{live_server.url}/?q={repository}")
    answer = page.locator("main").inner_text()
    assert "Excluded since" in answer
    assert "Removed since version 1.0.1" in answer
    check_page(page, "lookup-excluded")
    page.goto(f"{live_server.url}/datasets/demo/1.0.1/")
    assert repository in page.locator("main").inner_text()
    check_page(page, "version")
    page.goto(f"{live_server.url}/transparency/")
    applied = page.locator("tr", has_text="Applied").locator("td").nth(1).inner_text()
    assert applied == "1"
    check_page(page, "transparency")
    page.goto(private_link)  # from the e-mail: cookies were cleared above
    assert page.locator(".status").inner_text() == "Applied"
    check_page(page, "status-applied")
    for path, name in [
        ("/datasets/", "datasets"),
        ("/datasets/demo/", "dataset"),
        ("/policy/", "policy"),
        ("/requests/links/", "links"),
    ]:
        page.goto(f"{live_server.url}{path}")
        check_page(page, name)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for()
    check_page(page, "api-docs")
    page.locator(".opblock-summary-control").first.click()  # one operation opened
    page.locator(".opblock-body").first.wait_for()
    check_page(page, "api-docs-operation")
    page.get_by_role("button", name="Try it out").first.click()
    page.locator(".parameters input").first.fill(repository)
    check_page(page, "api-docs-try")
    page.locator(".btn.execute").first.click()
    page.locator(".live-responses-table").first.wait_for()
    check_page(page, "api-docs-executed")
    page.locator(".btn.authorize").first.click()
    page.locator(".modal-ux").wait_for()
    check_page(page, "api-docs-authorize")


def test_the_sign_in_pages_pass_axe(live_server, site_page, settings) -> None:
    """The pages an owner or a maintainer meets when signing in, forge sign-in configured,
    and the page a locked-out address gets."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {**settings.SOCIALACCOUNT_PROVIDERS["github"], "APPS": [{"client_id": "c"}]},
    }
    page = site_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with GitHub").wait_for()
    assert page.get_by_role("link", name="sign up").count() == 0  # there is no sign-up
    check_page(page, "accounts-login")
    for path, name in [
        ("/accounts/github/login/", "accounts-github"),
        ("/accounts/signup/", "accounts-signup-closed"),
        ("/requests/links/", "links"),
    ]:
        page.goto(f"{live_server.url}{path}")
        check_page(page, name)
    for _ in range(5):
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
    page.get_by_text("Sign-in is locked").first.wait_for()
    check_page(page, "admin-locked")
