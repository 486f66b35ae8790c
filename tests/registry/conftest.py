import pytest

from registry.tokens import token_create


@pytest.fixture
def token(db) -> str:
    _, key = token_create(name="pipeline", scopes=["registry:read"])
    return key


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}
