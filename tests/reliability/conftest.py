"""Fixtures of the fault-injection suite: a real stack per test module, an admin session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.reliability.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    built = Stack(tmp_path_factory.mktemp("stack"))
    try:
        yield built
    finally:
        built.close()


class AdminSession:
    """A maintainer in the admin, over HTTP, as a browser would be."""

    def __init__(self, base_url: str, username: str = "maint", password: str = "pw-maint-1"):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.get(f"{base_url}/admin/login/", timeout=30)
        answer = self.post(
            "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
        )
        assert answer.url.rstrip("/").endswith("/admin"), answer.text[:500]

    def post(self, path: str, data: dict) -> requests.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            f"{self.base_url}{path}",
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.base_url}{path}"},
            timeout=60,
        )

    def action(
        self, changelist: str, action: str, ids: list[int], **extra: str
    ) -> requests.Response:
        return self.post(
            changelist, {"action": action, "_selected_action": ids, "index": "0", **extra}
        )
