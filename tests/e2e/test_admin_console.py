"""The maintainers' console in a real browser: a reviewer decides and releases; a new
token's Copy button copies its key."""

from __future__ import annotations

import importlib
import re

from django.apps import apps
from django.contrib.auth.models import Group, User

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from optout.enums import RequestStatus
from optout.services import request_transition
from registry.models import Exclusion, PipelineToken
from tests.factories import make_dataset, make_request

reviewer_migration = importlib.import_module("governance.migrations.0005_reviewer_group")


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()


def test_a_reviewer_approves_with_a_reason_and_starts_a_release(
    live_server, page, tmp_path
) -> None:
    if not Group.objects.filter(name="reviewer").exists():  # flushed by a transactional test
        reviewer_migration.create_reviewer_group(apps, None)
    reviewer = User.objects.create_user("rita", password="a-long-password-42", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    make_dataset(tmp_path)
    request = make_request(["octo0/repo0"])
    request_transition(request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="t")

    _sign_in(page, live_server.url, "rita", "a-long-password-42")
    page.locator("#dashboard-queue").get_by_role("link", name="Verified, awaiting review").click()
    page.locator("#result_list").get_by_role("link", name=str(request.public_id)).click()
    page.get_by_label("Reason").fill("Proof checked by hand.")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("approved. The owner is told by e-mail.").wait_for()

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert request.events.last().reason == "Proof checked by hand."
    assert Exclusion.objects.get(active=True).subject == "github.com/octo0/repo0"

    page.goto(f"{live_server.url}/admin/governance/dataset/")
    page.locator("input[name=_selected_action]").check()
    page.locator("select[name=action]").select_option("release_now")
    page.get_by_role("button", name="Go").click()
    page.get_by_role("link", name="Watch its progress").click()
    page.locator("#release-progress [data-field=status]").get_by_text("published").wait_for()

    version = DatasetVersion.objects.get()
    assert (version.status, version.triggered_by) == (VersionStatus.PUBLISHED, "admin: rita")
    assert page.locator("input[name=_save]").count() == 0


def test_the_copy_button_copies_a_new_tokens_key(live_server, browser) -> None:
    User.objects.create_superuser("maint", "m@example.org", "a-long-password-42")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    _sign_in(page, live_server.url, "maint", "a-long-password-42")
    page.goto(f"{live_server.url}/admin/registry/pipelinetoken/add/")
    page.get_by_label("Name").fill("mirror")
    page.get_by_label("Read the registry").check()
    page.get_by_role("button", name="Save", exact=True).click()

    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()

    assert re.fullmatch(r"[A-Za-z0-9]+\.[A-Za-z0-9]+", copied)  # the key, and only it
    assert PipelineToken.objects.get_from_key(copied).name == "mirror"
