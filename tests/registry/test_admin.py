import re

import pytest

from registry.models import PipelineToken
from registry.services import exclusion_add
from registry.tokens import token_create
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["exclusion", "logentry", "signedcheckpoint", "pipelinetoken"])
def test_each_registry_admin_page_renders(admin_client, model) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    token_create(name="mirror", scopes=["registry:read"])
    listing = admin_client.get(f"/admin/registry/{model}/")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1


def test_a_new_token_is_shown_once_with_a_copy_button(admin_client) -> None:
    response = admin_client.post(
        "/admin/registry/pipelinetoken/add/",
        {
            "name": "mirror",
            "scopes": ["registry:read"],
            "expiry_date_0": "2027-06-01",
            "expiry_date_1": "00:00:00",
        },
        follow=True,
    )
    html = response.content.decode()
    token = PipelineToken.objects.get()
    key = re.search(r'<code id="once-shown-key">([^<]+)</code>', html).group(1)
    assert PipelineToken.objects.get_from_key(key) == token
    assert '<button type="button" class="copy-button" data-copy="once-shown-key">' in html
    assert "never expires" not in html
    again = admin_client.get("/admin/registry/pipelinetoken/").content.decode()
    assert key not in again


def test_a_token_without_expiry_is_called_out(admin_client) -> None:
    response = admin_client.post(
        "/admin/registry/pipelinetoken/add/",
        {"name": "forever", "scopes": ["registry:read"]},
        follow=True,
    )
    assert "The token for forever never expires." in response.content.decode()
    token_create(name="dated", scopes=["registry:read"], expires_days=30)
    listing = admin_client.get("/admin/registry/pipelinetoken/").content.decode()
    assert listing.count('<strong class="no-expiry">never: no expiry date</strong>') == 1


def test_an_exclusion_links_to_the_request_that_caused_it(admin_client) -> None:
    request = approve(make_request(["octo/hello"]))
    exclusion_add(kind="repository", subject="github.com/a/b", cause="import:2024")
    listing = admin_client.get("/admin/registry/exclusion/").content.decode()
    link = f'/admin/optout/removalrequest/?state=all&amp;q={request.public_id}"'
    assert link in listing
    assert "import:2024" in listing
    found = admin_client.get(
        "/admin/optout/removalrequest/", {"state": "all", "q": str(request.public_id)}
    )
    assert list(found.context["cl"].result_list) == [request]
