"""Fixtures for the optout tests: loopback servers, a forge pointing at them, a socket log."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.forges import Forge, NameRule
from tests.optout.servers import FakeForge, GitServer

LOOPBACK_HOST = "git.loopback.test"

_CONNECTIONS: list[tuple[str, int]] = []
_RECORDING = [False]


def _audit(event: str, args: tuple) -> None:
    # Every socket.connect in the process passes here, whoever makes it.
    if event == "socket.connect" and _RECORDING[0]:
        address = args[1]
        if isinstance(address, tuple):
            _CONNECTIONS.append((str(address[0]), int(address[1])))


sys.addaudithook(_audit)


@pytest.fixture
def connections() -> Iterator[list[tuple[str, int]]]:
    """The (address, port) of every outbound socket connection made during the test."""
    _CONNECTIONS.clear()
    _RECORDING[0] = True
    yield _CONNECTIONS
    _RECORDING[0] = False


def loopback_forge(base_url: str, host: str = LOOPBACK_HOST) -> Forge:
    rule = NameRule(re.compile(r"[a-z0-9][a-z0-9._-]*"), 100, "lower-case letters and digits")
    return Forge(
        host=host,
        label="Loopback git",
        case_sensitive=False,
        owner_rule=rule,
        name_rule=rule,
        web_base_url=base_url,
        api_base_url=base_url + "/api",
        api_flavour="github",
        signin_provider="github",
    )


@pytest.fixture
def git_server(tmp_path: Path, settings) -> Iterator[GitServer]:
    """``git http-backend`` on loopback, configured as the forge git.loopback.test."""
    server = GitServer(root=tmp_path / "git")
    server.root.mkdir()
    server.start()
    settings.OPTOUT_OUTBOUND_ALLOW_LOOPBACK = True
    settings.REGISTRY_EXTRA_FORGES = [loopback_forge(server.base_url)]
    yield server
    server.stop()


@pytest.fixture
def fake_forge(settings) -> Iterator[FakeForge]:
    """A forge API on loopback, configured as the forge api.loopback.test."""
    server = FakeForge()
    server.start()
    settings.OPTOUT_OUTBOUND_ALLOW_LOOPBACK = True
    extra = [f for f in settings.REGISTRY_EXTRA_FORGES if f.host != "api.loopback.test"]
    settings.REGISTRY_EXTRA_FORGES = [*extra, loopback_forge(server.base_url, "api.loopback.test")]
    yield server
    server.stop()
