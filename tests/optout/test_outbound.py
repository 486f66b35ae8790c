"""The SSRF corpus: hostile inputs never open a connection outside the forge allow-list.

Every socket.connect in the process is recorded through an audit hook (tests/optout/
conftest.py), so "no connection" is observed, not assumed.
"""

from __future__ import annotations

import threading

import pytest

from optout.outbound import OutboundError, OutboundRefused, address_problem, fetch, forge_url
from optout.services import request_submit
from registry.forges import forges
from registry.identifiers import IdentifierError, parse_identifier
from tests.optout.conftest import loopback_forge

pytestmark = pytest.mark.django_db

# What a person might type as a repository, aimed at the portal's own network.
TYPED = [
    "127.0.0.1/owner/name",
    "https://127.0.0.1/owner/name",
    "https://[::1]/owner/name",
    "http://169.254.169.254/latest/meta-data",
    "https://0x7f000001/owner/name",
    "https://2130706433/owner/name",
    "https://017700000001/owner/name",
    "github.com@evil.example/owner/name",
    "https://github.com@evil.example/owner/name",
    "https://github.com.evil.example/owner/name",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "https://github.com:6379/owner/name",
    "https://localhost/owner/name",
    "git@169.254.169.254:owner/name.git",
    "https://[::ffff:127.0.0.1]/owner/name",
    "github.com/..%2f..%2fadmin/x",
    "github.com/owner/name\r\nHost: evil.example",
]

# URLs handed to the fetcher directly: the second line of defence.
URLS = [
    "http://127.0.0.1/",
    "https://127.0.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://0x7f000001/",
    "https://2130706433/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://10.0.0.1/",
    "https://100.64.0.1/",
    "https://[fd00::1]/",
    "https://github.com@evil.example/",
    "https://github.com.evil.example/x",
    "file:///etc/passwd",
    "ftp://github.com/x",
    "http://github.com/octocat/hello.git/info/refs",
    "https://github.com:8443/octocat/hello",
    "https://user:secret@github.com/octocat/hello",
]


@pytest.mark.parametrize("text", TYPED)
def test_a_hostile_line_is_refused_by_the_parser_without_a_connection(
    text: str, connections
) -> None:
    with pytest.raises(IdentifierError):
        parse_identifier(text)
    result = request_submit(lines=[text], contact_email="a@example.org")
    assert result.request is None
    assert list(result.errors) == [1]
    assert connections == []


@pytest.mark.parametrize("url", URLS)
def test_a_hostile_url_is_refused_by_the_fetcher_without_a_connection(
    url: str, connections
) -> None:
    with pytest.raises(OutboundRefused):
        fetch(url)
    assert connections == []


def test_a_forge_whose_name_resolves_to_loopback_is_refused(settings, connections) -> None:
    settings.REGISTRY_EXTRA_FORGES = [loopback_forge("https://localhost", host="local.test")]
    with pytest.raises(OutboundRefused, match=r"refused localhost: 127\.0\.0\.1 is loopback"):
        fetch(forge_url(forges()["local.test"], "owner/name.git/info/refs"))
    assert connections == []


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("192.168.0.1", "192.168.0.1 is a private address"),
        ("172.16.5.4", "172.16.5.4 is a private address"),
        ("100.100.100.200", "100.100.100.200 is a carrier-grade NAT address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("fd12:3456::1", "fd12:3456::1 is a private address"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1 is an IPv4-mapped address"),
        ("0.0.0.0", "0.0.0.0 is a private address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("127.0.0.1", "127.0.0.1 is loopback"),
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1 is an IPv6 address that translates to IPv4"),
        ("2002:7f00:1::1", "2002:7f00:1::1 is an IPv6 address that translates to IPv4"),
        ("140.82.112.3", None),
    ],
)
def test_addresses_are_classified(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem


@pytest.fixture
def redirecting_forge(fake_forge):
    other = f"http://127.0.0.1:{fake_forge.port + 1 if fake_forge.port < 65535 else 1}"
    for path, target in {
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-private": "http://10.0.0.1/admin",
        "/to-other-port": f"{other}/x",
        "/to-file": "file:///etc/passwd",
        "/to-other-host": "https://evil.example/x",
        "/to-userinfo": f"http://github.com@127.0.0.1:{fake_forge.port}/ok",
        "/same-origin": "/ok",
    }.items():
        fake_forge.routes[path] = (302, {"Location": target}, b"")
    fake_forge.routes["/ok"] = (200, {"Content-Type": "text/plain"}, b"fine")
    return fake_forge


@pytest.mark.parametrize(
    "path",
    ["/to-metadata", "/to-private", "/to-other-port", "/to-file", "/to-other-host", "/to-userinfo"],
)
def test_a_redirect_away_from_the_forge_is_refused(redirecting_forge, connections, path) -> None:
    with pytest.raises(OutboundRefused, match="refused"):
        fetch(redirecting_forge.base_url + path)
    assert set(connections) == {("127.0.0.1", redirecting_forge.port)}
    assert len(connections) == 1


def test_a_redirect_within_the_forge_is_followed(redirecting_forge, connections) -> None:
    result = fetch(redirecting_forge.base_url + "/same-origin")
    assert (result.status, result.body) == (200, b"fine")
    assert result.redirects == [redirecting_forge.base_url + "/ok"]
    assert connections == [("127.0.0.1", redirecting_forge.port)] * 2


def test_an_unconfigured_loopback_port_is_refused(fake_forge, connections) -> None:
    with pytest.raises(OutboundRefused, match="is not a configured forge"):
        fetch(f"http://127.0.0.1:{fake_forge.port ^ 1}/x")
    assert connections == []


def test_an_answer_larger_than_the_cap_is_cut_off(fake_forge, settings) -> None:
    settings.OPTOUT_OUTBOUND_MAX_BYTES = 64 * 1024
    fake_forge.routes["/big"] = (200, {}, b"x" * (64 * 1024 + 1))
    with pytest.raises(OutboundError, match="larger than 65536 bytes"):
        fetch(fake_forge.base_url + "/big")


def test_a_forge_that_never_answers_hits_the_time_limit(fake_forge, settings) -> None:
    settings.OPTOUT_OUTBOUND_TIMEOUT_SECONDS = 1
    release = threading.Event()

    def hang(handler, body):
        release.wait(30)
        return 200, {}, b"late"

    fake_forge.routes["/hang"] = hang
    try:
        with pytest.raises(OutboundError, match="took longer than 1 s"):
            fetch(fake_forge.base_url + "/hang")
    finally:
        release.set()


def test_the_corpus_has_at_least_thirty_inputs() -> None:
    assert len(TYPED) + len(URLS) + 1 + 6 >= 30
