"""Owner pages through Django's test client: bad input of every kind, throttles, status."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from optout.enums import RequestStatus
from optout.links import status_path, status_token_for
from optout.models import RemovalRequest
from optout.services import request_transition
from registry import services as registry_services
from tests.factories import approve, make_request, open_status_page

pytestmark = pytest.mark.django_db

SUBMIT = "/requests/new/"


def _post(client, subjects: str, email: str = "owner@example.org", **extra):
    return client.post(
        SUBMIT, {"subjects": subjects, "contact_email": email, "reason": "mine"}, **extra
    )


def _textarea(response) -> str:
    html = response.content.decode()
    return re.search(r"<textarea[^>]*name=\"subjects\"[^>]*>\n?(.*?)</textarea>", html, re.S)[1]


def _link(response) -> str:
    return re.search(
        r'href="http://testserver(/requests/[0-9a-f-]+/#t=[^"]+)"', response.content.decode()
    )[1]


@pytest.mark.parametrize(
    ("subjects", "email", "message"),
    [
        ("", "owner@example.org", "Enter at least one repository or namespace, one per line."),
        ("octo/hello", "", "Enter the e-mail address we should write to."),
        ("octo/hello", "not-an-address", "Enter a whole e-mail address"),
        ("octo/hello\nftp://nowhere/x", "owner@example.org", "Line 2: ftp:// addresses are not"),
        ("octo/hello\n\nevil.example/a/b", "owner@example.org", "Line 3: &#x27;evil.example&#x27;"),
        ("octocat", "owner@example.org", "Line 1: &#x27;octocat&#x27; is only one name."),
        (
            "github.com/a//b",
            "owner@example.org",
            "Line 1: &#x27;github.com/a//b&#x27; has an empty",
        ),
        ("\n".join(f"octo/r{i}" for i in range(1001)), "owner@example.org", "1001 lines is more"),
    ],
)
def test_bad_input_is_explained_and_nothing_typed_is_lost(client, subjects, email, message) -> None:
    response = _post(client, subjects, email)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _textarea(response) == subjects.replace("&", "&amp;")
    assert f'value="{email}"' in response.content.decode() or not email
    assert RemovalRequest.objects.count() == 0


def test_a_submission_answers_every_line_and_mails_the_private_link(
    client, django_capture_on_commit_callbacks
) -> None:
    registry_services.exclusion_add(kind="namespace", subject="github.com/gone", cause="test")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            "https://github.com/Octo/Hello.git\nocto/hello\ngithub.com/gone/tool\ngitlab.com/g/s/*",
        )
    assert response.status_code == 201
    html = response.content.decode()
    assert "Request received" in html
    assert "github.com/octo/hello (repository)" in html
    assert "Same as line 1 (github.com/octo/hello); counted once." in html
    assert "github.com/gone/tool is already excluded (by github.com/gone); nothing to do." in html
    assert "gitlab.com/g/s (namespace)" in html
    request = RemovalRequest.objects.get()
    assert list(request.subjects.values_list("subject", flat=True).order_by("subject")) == [
        "github.com/octo/hello",
        "gitlab.com/g/s",
    ]
    assert [m.subject for m in mail.outbox] == [
        "Your opt-out request: prove that you control what you named"
    ]
    link = _link(response)
    assert f"http://127.0.0.1:8000{link}" in mail.outbox[0].body
    assert request.verification_token in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"
    # The browser that submitted holds the page's cookie: it opens at once, without JavaScript.
    page = client.get(link)
    assert page.status_code == 200
    assert '<span class="status">Pending verification</span>' in page.content.decode()


def _withdraw_all() -> None:
    for request in RemovalRequest.objects.filter(status=RequestStatus.PENDING_VERIFICATION):
        request_transition(request_id=request.id, to_status=RequestStatus.WITHDRAWN)


def _anonymised(response) -> str:
    """The page with what differs between any two requests (ids, tokens, dates) masked."""
    html = response.content.decode()
    request = RemovalRequest.objects.get(
        public_id=re.search(r"/requests/([0-9a-f-]{36})/", html)[1]
    )
    for secret in (
        status_token_for(request.public_id),
        str(request.public_id),
        request.verification_token,
        f"{request.expires_at:%Y-%m-%d %H:%M}",
    ):
        html = html.replace(secret, "…")
    return html


def test_the_answer_is_the_same_whether_or_not_the_address_has_that_subject_open(
    client, django_capture_on_commit_callbacks
) -> None:
    victim = make_request(["octo/secret"], email="victim@example.org")
    # Someone types the victim's address and subject while the victim's request is open…
    with django_capture_on_commit_callbacks(execute=True):
        while_open = _post(client, "octo/secret", "Victim@Example.org")
    # …and again once no request of that address names it.
    _withdraw_all()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        while_none = _post(client, "octo/secret", "Victim@Example.org")
    assert (while_open.status_code, while_none.status_code) == (201, 201)
    assert _anonymised(while_open) == _anonymised(while_none)
    assert "already" not in while_open.content.decode()
    assert RemovalRequest.objects.exclude(id=victim.id).count() == 2


def test_only_the_address_owner_is_told_of_the_earlier_open_request(
    client, django_capture_on_commit_callbacks
) -> None:
    victim = make_request(["octo/secret", "octo/other"], email="victim@example.org")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, "octo/secret\nocto/new", "VICTIM@example.org")
    (sent,) = mail.outbox
    assert sent.to == ["VICTIM@example.org"]
    earlier_link = (
        f"http://127.0.0.1:8000{status_path(victim.public_id, status_token_for(victim.public_id))}"
    )
    assert (
        "This address already has open requests naming some of the same subjects:\n"
        f"  - request {victim.public_id} of {victim.created_at:%Y-%m-%d} (pending verification): "
        f"github.com/octo/secret\n    {earlier_link}\n"
        "If you sent both, you need only one:"
    ) in sent.body
    assert earlier_link.replace("&", "&amp;") in sent.alternatives[0][0]
    # The earlier request's own confirmation said nothing of the sort.
    assert RemovalRequest.objects.count() == 2


def test_a_subject_requested_by_someone_else_is_not_revealed(client) -> None:
    make_request(["octo/hello"], email="someone@example.org")
    response = _post(client, "octo/hello", "me@example.org")
    assert response.status_code == 201
    assert "already" not in response.content.decode()
    assert RemovalRequest.objects.count() == 2


def test_submissions_are_throttled_per_ip_address(client, settings) -> None:
    settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP = 2
    for number in range(2):
        assert _post(client, f"octo/r{number}", f"o{number}@example.org").status_code == 201
    response = _post(client, "octo/r9", "o9@example.org")
    assert response.status_code == 429
    assert "Too many requests were submitted from this network or for this e-mail" in (
        response.content.decode()
    )
    assert _textarea(response) == "octo/r9"
    assert int(response["Retry-After"]) > 0
    other_network = _post(client, "octo/r9", "o9@example.org", REMOTE_ADDR="203.0.113.9")
    assert other_network.status_code == 201


def test_submissions_are_throttled_per_email(client, settings) -> None:
    settings.OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL = 1
    assert _post(client, "octo/a", REMOTE_ADDR="203.0.113.1").status_code == 201
    assert (
        _post(client, "octo/b", "OWNER@example.org", REMOTE_ADDR="203.0.113.2").status_code == 429
    )


def _masked(response, public_id) -> str:
    html = response.content.decode().replace(str(public_id), "…")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)


def test_a_wrong_token_and_an_unknown_request_look_the_same(client) -> None:
    request = make_request(["octo/hello"])
    unknown_id = "00000000-0000-4000-8000-000000000000"
    wrong = client.get(f"/requests/{request.public_id}/?token=guess")
    unknown = client.get(f"/requests/{unknown_id}/?token=guess")
    assert (wrong.status_code, unknown.status_code) == (404, 404)
    assert _masked(wrong, request.public_id) == _masked(unknown, unknown_id)


def test_check_now_verifies_through_the_loopback_git_server(client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    git_server.create_repository("alice/tool", {".dataset-optout": request.verification_token})
    page = open_status_page(client, request)
    response = client.post(reverse("optout:verify", args=[request.public_id]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(page, 302)]
    assert '<span class="status">Verified</span>' in html
    assert "Control proven. Thank you." in html
    assert "Found .dataset-optout with the token on the default branch (main" in html


def test_check_now_explains_a_failure(client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    git_server.create_repository("alice/tool", {"README": "no token here"})
    # A page cached from before the cookie posts the token with the form: still accepted.
    token = status_token_for(request.public_id)
    response = client.post(
        reverse("optout:verify", args=[request.public_id]), {"token": token}, follow=True
    )
    assert response.redirect_chain == [(f"/requests/{request.public_id}/", 302)]
    html = response.content.decode()
    assert "Not everything is proven yet; see the results below." in html
    assert "has no .dataset-optout file at its root. Commit one containing" in html
    assert '<span class="status">Pending verification</span>' in html


def test_the_status_page_says_what_happens_next_and_when(client) -> None:
    request = approve(make_request(["octo/hello"]))
    html = client.get(open_status_page(client, request)).content.decode()
    assert "Your repositories are in the exclusion registry." in html
    assert "Next dataset release: when maintainers run one" in html


def test_withdrawal_needs_confirmation_then_removes_the_exclusion(
    client, django_capture_on_commit_callbacks
) -> None:
    request = approve(make_request(["octo/hello"]))
    open_status_page(client, request)
    url = reverse("optout:withdraw", args=[request.public_id])
    refused = client.post(url, {"reason": "changed my mind"})
    assert refused.status_code == 400
    assert "Tick the box to confirm that you want to opt back in." in refused.content.decode()
    assert 'value="changed my mind"' in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"reason": "changed my mind", "confirm": "on"})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert request.events.last().reason == "changed my mind"
    assert [m.subject for m in mail.outbox] == ["Your opt-out request is now withdrawn"]
    assert "the code comes back in the next dataset version" in mail.outbox[0].body


def test_withdraw_and_verify_need_the_token(client) -> None:
    request = make_request(["octo/hello"])
    for name in ("optout:withdraw", "optout:verify"):
        response = client.post(
            reverse(name, args=[request.public_id]), {"token": "x", "confirm": "on"}
        )
        assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING_VERIFICATION


def test_an_owner_gets_their_private_links_again_by_e_mail(
    client, django_capture_on_commit_callbacks
) -> None:
    request = make_request(["octo/links"], email="Owner@Example.org")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/requests/links/", {"contact_email": "owner@example.org"})

    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [["Owner@Example.org"]]
    link = status_path(request.public_id, status_token_for(request.public_id))
    assert f"http://127.0.0.1:8000{link}\n" in mail.outbox[0].body
    assert "?token=" not in mail.outbox[0].body


def test_asking_for_links_of_an_unknown_address_answers_the_same(
    client, django_capture_on_commit_callbacks
) -> None:
    make_request(["octo/links"], email="owner@example.org")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/requests/links/", {"contact_email": "owner@example.org"})
        unknown = client.post("/requests/links/", {"contact_email": "stranger@example.org"})

    assert known.status_code == unknown.status_code == 200
    text = lambda r, e: r.content.decode().replace(e, "")  # noqa: E731
    assert text(known, "owner@example.org") == text(unknown, "stranger@example.org")
    assert len(mail.outbox) == 1


def test_asking_for_links_too_often_is_refused(client) -> None:
    for _ in range(3):
        assert (
            client.post("/requests/links/", {"contact_email": "a@example.org"}).status_code == 200
        )

    response = client.post("/requests/links/", {"contact_email": "a@example.org"})

    assert response.status_code == 429
    assert "Try again in an hour" in response.content.decode()


def test_the_status_page_shows_the_steps_done_and_hides_the_next_release_once_applied(
    client, tmp_path
) -> None:
    request = approve(make_request(["octo/steps"]))
    link = open_status_page(client, request)
    approved = client.get(link).content.decode()
    request_transition(request_id=request.id, to_status=RequestStatus.APPLIED, actor_label="t")

    applied = client.get(link).content.decode()

    assert 'aria-current="step"' in approved
    assert (
        '<li class="step done" aria-current="step">\n      <span class="step-label">In a published'
        in (applied)
    )  # the last step is done, not still under way
    assert "Next dataset release" in approved
    assert "Next dataset release" not in applied
    assert "Withdraw (opt back in)" in applied


def test_an_unverified_request_offers_to_cancel_and_copy_the_token(client) -> None:
    request = make_request(["octo/cancel"])
    link = open_status_page(client, request)

    body = client.get(link).content.decode()

    assert "Cancel this request" in body
    assert "Withdraw (opt back in)" not in body
    assert (
        f'<pre class="note" data-copy="the file\'s content">{request.verification_token}</pre>'
        in body
    )
    assert "js/copy.js" in body


def test_the_header_links_signed_in_requests_only_once_forge_sign_in_is_configured(
    client, settings
) -> None:
    without = client.get("/").content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {
            **settings.SOCIALACCOUNT_PROVIDERS.get("github", {}),
            "APPS": [{"client_id": "cid", "secret": "shh"}],
        },
    }

    with_signin = client.get("/").content.decode()

    assert 'href="/requests/mine/"' not in without
    assert 'href="/requests/mine/"' in with_signin


def test_the_steps_say_what_comes_next_before_any_request_set_a_typical_time(client) -> None:
    request = make_request(["octo/first"])
    request_transition(request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="t")
    link = open_status_page(client, request)

    verified = client.get(link).content.decode()
    approve_later = make_request(["octo/second"], email="b@example.org")
    approve(approve_later)
    with_history = client.get(link).content.decode()

    assert "when a maintainer reviews it" in verified
    assert "usually under a minute after control is proven" in with_history
