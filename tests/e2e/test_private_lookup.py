"""The home page's private check, in a real browser: the answer is computed in the page and
no request names the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import ranges_format
from registry.public_store import public_root
from registry.services import exclusion_add
from tests.e2e.checks import check_page

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
        "checkpoint 2, signature verified; the portal saw only the hash prefixes "
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


def _ask(page, live_server, text: str) -> str:
    page.goto(live_server.url)
    page.get_by_label("A repository or an owner").fill(text)
    page.get_by_role("button", name="Check privately").click()
    answer = page.locator("#private-answer")
    answer.filter(has_text="checkpoint").or_(answer.filter(has_text="Refused")).wait_for()
    return answer.inner_text()


def _rewrite(path: Path, change) -> None:
    path.chmod(0o644)
    path.write_bytes(change(path.read_bytes()))


def _change_first_range_hash(data: bytes) -> bytes:
    lines = data.split(b"\n")
    prefix, where, digest = lines[4].split(b" ")
    lines[4] = b" ".join([prefix, where, (b"1" if digest[:1] == b"0" else b"0") + digest[1:]])
    return b"\n".join(lines)


def _ranges() -> Path:
    return Path(public_root()) / "ranges"


def test_a_tampered_range_manifest_is_refused(live_server, page, exclusions) -> None:
    manifest = _ranges() / "2" / "manifest"
    # One range's hash changed (as a mirror would, to serve its own file for that range):
    # the signature no longer covers the text.
    _rewrite(manifest, _change_first_range_hash)
    said = _ask(page, live_server, "github.com/secret-org/plans")
    assert said == (
        "Refused: the range manifest's signature does not verify with the log's key. "
        "No answer was given; use Look up for the ordinary check."
    )
    check_page(page, "private-check-refused")


def test_a_tampered_range_file_is_refused(live_server, page, exclusions) -> None:
    key = "github.com/secret-org/*"
    prefix = ranges_format.key_hash(key)[: ranges_format.PREFIX_HEX]
    files = list(_ranges().glob(f"*/{prefix}"))
    assert files
    for path in files:  # the key removed from its range: a mirror hiding an exclusion
        suffix = ranges_format.key_hash(key)[ranges_format.PREFIX_HEX :].encode()
        _rewrite(path, lambda data, s=suffix: data.replace(s + b"\n", b""))
    said = _ask(page, live_server, "github.com/secret-org/plans")
    assert said.startswith(f"Refused: range file {prefix} does not match the signed manifest.")


def test_range_files_older_than_the_pages_checkpoint_are_refused(live_server, page, exclusions):
    assert (_ranges() / "1" / "manifest").exists()
    _rewrite(_ranges() / "latest", lambda data: b"1\n")
    said = _ask(page, live_server, "gitlab.com/grp/sub/hidden-repo")
    assert said.startswith(
        "Refused: the range files are of checkpoint 1, older than the signed checkpoint 2 "
        "this page trusts."
    )


def test_newer_range_files_are_accepted_with_a_consistency_proof(live_server, page, exclusions):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url)
    exclusion_add(kind="repository", subject="github.com/tardy-org/newcomer", cause="c:3")
    page.get_by_label("A repository or an owner").fill("tardy-org/newcomer")
    page.get_by_role("button", name="Check privately").click()
    answer = page.locator("#private-answer")
    answer.filter(has_text="checkpoint").wait_for()
    assert answer.inner_text().startswith(
        "github.com/tardy-org/newcomer is excluded (registry checkpoint 3, signature verified;"
    )
    assert any("/api/v1/log/proof/consistency?first=2&second=3" in url for url in requested)
    assert not [url for url in requested if "tardy" in url or "newcomer" in url]
