import pytest

from registry.services import exclusion_add
from registry.tokens import token_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["exclusion", "logentry", "signedcheckpoint", "pipelinetoken"])
def test_each_registry_admin_page_renders(admin_client, model) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    token_create(name="mirror", scopes=["registry:read"])
    listing = admin_client.get(f"/admin/registry/{model}/")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
