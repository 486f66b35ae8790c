"""Extra forges come from the environment: a JSON list, checked strictly at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry.forges import forges, forges_from_env, forges_from_json
from registry.identifiers import IdentifierError, parse_identifier

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = "REGISTRY_EXTRA_FORGES"
SELF_HOSTED_GITLAB = {
    "host": "Git.Example.org",
    "label": "Example GitLab",
    "web_base_url": "https://git.example.org/",
    "api_flavour": "gitlab",
    "signin_provider": "gitlab",
    "aliases": ["www.git.example.org"],
    "reserved_owners": ["Admin"],
}


def _bad(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    with pytest.raises(ImproperlyConfigured) as caught:
        forges_from_json(VARIABLE, text)
    return str(caught.value)


def test_a_good_value_describes_a_self_hosted_gitlab() -> None:
    (forge,) = forges_from_json(VARIABLE, json.dumps([SELF_HOSTED_GITLAB]))
    assert forge.host == "git.example.org"
    assert forge.label == "Example GitLab"
    assert forge.web_base_url == "https://git.example.org"
    assert forge.api_base_url == "https://git.example.org/api/v4"
    assert forge.api_flavour == "gitlab"
    assert forge.signin_provider == "gitlab"
    assert forge.aliases == ("www.git.example.org",)
    assert forge.case_sensitive is False
    assert forge.nested_groups is True
    assert forge.max_group_depth == 20
    assert "admin" in forge.reserved_owners
    assert "explore" in forge.reserved_owners  # GitLab's own pages are kept
    assert forge.owner_rule.description.startswith("Example GitLab paths use letters")


def test_the_parsed_forge_is_what_the_identifier_parser_uses(settings) -> None:
    settings.REGISTRY_EXTRA_FORGES = forges_from_json(VARIABLE, json.dumps([SELF_HOSTED_GITLAB]))
    identifier = parse_identifier("https://www.git.example.org/Group/Sub/Tool.git")
    assert identifier.canonical == "git.example.org/group/sub/tool"
    assert sorted(forges()) == [
        "bitbucket.org",
        "codeberg.org",
        "git.example.org",
        "github.com",
        "gitlab.com",
    ]
    with pytest.raises(IdentifierError) as caught:
        parse_identifier("git.example.org/admin")
    assert str(caught.value) == (
        "'admin' is a page of git.example.org, not a user or organisation; paste the address "
        "of the repository or of its owner."
    )


def test_name_rules_alone_and_an_explicit_api_address_are_enough() -> None:
    forge, bitbucket = forges_from_json(
        VARIABLE,
        json.dumps(
            [
                {
                    "host": "code.example.net",
                    "web_base_url": "https://code.example.net",
                    "name_rules": "gitea",
                    "case_sensitive": True,
                },
                {
                    "host": "bb.example.net",
                    "web_base_url": "https://bb.example.net",
                    "api_flavour": "bitbucket",
                    "api_base_url": "https://api.bb.example.net/2.0",
                },
            ]
        ),
    )
    assert forge.label == "code.example.net"
    assert forge.api_base_url == ""
    assert forge.api_flavour == ""
    assert forge.case_sensitive is True
    assert forge.nested_groups is False
    assert forge.owner_rule.description.startswith("code.example.net user and organisation")
    assert bitbucket.api_base_url == "https://api.bb.example.net/2.0"
    assert bitbucket.owner_rule.description.startswith("bb.example.net workspace ids use")


def test_plain_http_is_accepted_only_for_a_loopback_address() -> None:
    (forge,) = forges_from_json(
        VARIABLE,
        json.dumps(
            [
                {
                    "host": "git.loopback.test",
                    "web_base_url": "http://127.0.0.1:8080",
                    "api_flavour": "github",
                }
            ]
        ),
    )
    assert forge.web_base_url == "http://127.0.0.1:8080"
    assert forge.api_base_url == "http://127.0.0.1:8080/api/v3"


def test_unset_or_empty_means_no_extra_forges(monkeypatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    assert forges_from_env(VARIABLE) == []
    monkeypatch.setenv(VARIABLE, "  ")
    assert forges_from_env(VARIABLE) == []
    monkeypatch.setenv(VARIABLE, "[]")
    assert forges_from_env(VARIABLE) == []


def test_it_rejects_a_value_that_is_not_json() -> None:
    assert _bad("[{host: 1}]") == (
        "REGISTRY_EXTRA_FORGES is not valid JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 3 (char 2)); write a list of forges such as "
        '[{"host": "git.example.org", "web_base_url": "https://git.example.org", '
        '"api_flavour": "gitlab"}].'
    )


def test_it_rejects_a_value_that_is_not_a_list() -> None:
    assert _bad(SELF_HOSTED_GITLAB).startswith(
        "REGISTRY_EXTRA_FORGES must be a JSON list of forges, not an object; e.g. [{"
    )


def test_it_rejects_an_entry_that_is_not_an_object() -> None:
    assert _bad(["git.example.org"]) == (
        'REGISTRY_EXTRA_FORGES[0] must be a JSON object with at least "host" and '
        '"web_base_url", not a string.'
    )


def _with(**changes: object) -> list[dict[str, object]]:
    entry = {**SELF_HOSTED_GITLAB, **changes}
    return [{key: value for key, value in entry.items() if value is not None}]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            _with(api_falvour="gitlab"),
            "REGISTRY_EXTRA_FORGES[0]: unknown key 'api_falvour'; the keys are host, "
            "web_base_url, label, api_base_url, api_flavour, name_rules, signin_provider, "
            "case_sensitive, aliases, reserved_owners.",
        ),
        (
            _with(case_sensitive="yes"),
            "REGISTRY_EXTRA_FORGES[0].case_sensitive must be a boolean, not a string.",
        ),
        (
            _with(aliases="www.git.example.org"),
            "REGISTRY_EXTRA_FORGES[0].aliases must be a list, not a string.",
        ),
        (
            _with(aliases=[""]),
            "REGISTRY_EXTRA_FORGES[0].aliases must be a list of non-empty strings; found ''.",
        ),
        (
            _with(host=None),
            'REGISTRY_EXTRA_FORGES[0]: \'host\' is missing; e.g. [{"host": "git.example.org", '
            '"web_base_url": "https://git.example.org", "api_flavour": "gitlab"}].',
        ),
        (
            _with(web_base_url=""),
            "REGISTRY_EXTRA_FORGES[0]: 'web_base_url' is missing; e.g. [{\"host\": "
            '"git.example.org", "web_base_url": "https://git.example.org", "api_flavour": '
            '"gitlab"}].',
        ),
        (
            _with(host="git.example.org:8443"),
            "REGISTRY_EXTRA_FORGES[0].host 'git.example.org:8443' is not a host name; write a "
            "DNS name such as git.example.org (no scheme, port, path or IP address).",
        ),
        (
            _with(host="10.0.0.7"),
            "REGISTRY_EXTRA_FORGES[0].host '10.0.0.7' is not a host name; write a DNS name "
            "such as git.example.org (no scheme, port, path or IP address).",
        ),
        (
            _with(host="https://git.example.org"),
            "REGISTRY_EXTRA_FORGES[0].host 'https://git.example.org' is not a host name; write "
            "a DNS name such as git.example.org (no scheme, port, path or IP address).",
        ),
        (
            _with(web_base_url="ftp://git.example.org"),
            "REGISTRY_EXTRA_FORGES[0].web_base_url 'ftp://git.example.org' is not an http(s) "
            "URL, e.g. https://git.example.org.",
        ),
        (
            _with(web_base_url="https://bot:secret@git.example.org"),
            "REGISTRY_EXTRA_FORGES[0].web_base_url 'https://bot:secret@git.example.org' contains "
            "a user name or password; forges are read anonymously, e.g. https://git.example.org.",
        ),
        (
            _with(api_base_url="https://git.example.org/api/v4?private_token=x"),
            "REGISTRY_EXTRA_FORGES[0].api_base_url 'https://git.example.org/api/v4?private_token=x'"
            " has a query or fragment; give the base address only, e.g. https://git.example.org.",
        ),
        (
            _with(web_base_url="http://git.example.org"),
            "REGISTRY_EXTRA_FORGES[0].web_base_url 'http://git.example.org' uses plain http; use "
            "https (plain http is only for loopback test servers), e.g. https://git.example.org.",
        ),
        (
            _with(api_flavour="gitea-ish"),
            "REGISTRY_EXTRA_FORGES[0].api_flavour is 'gitea-ish'; use one of github, gitlab, "
            "gitea, bitbucket (or leave it out).",
        ),
        (
            _with(api_flavour=None, name_rules="sourcehut"),
            "REGISTRY_EXTRA_FORGES[0].name_rules is 'sourcehut'; use one of github, gitlab, "
            "gitea, bitbucket (or leave it out).",
        ),
        (
            _with(api_flavour=None, signin_provider=None),
            'REGISTRY_EXTRA_FORGES[0]: say which names the forge accepts with "name_rules" (or '
            '"api_flavour"): one of github, gitlab, gitea, bitbucket.',
        ),
        (
            _with(api_flavour="bitbucket"),
            "REGISTRY_EXTRA_FORGES[0]: \"api_base_url\" is needed for api_flavour 'bitbucket'; "
            "give the forge's API address.",
        ),
        (
            _with(signin_provider="bitbucket"),
            "REGISTRY_EXTRA_FORGES[0].signin_provider is 'bitbucket'; use one of github, gitlab "
            "(or leave it out).",
        ),
        (
            _with(host="gitlab.com"),
            "REGISTRY_EXTRA_FORGES[0]: the host 'gitlab.com' is already used by the built-in "
            "forge gitlab.com; give each forge a host and aliases of its own.",
        ),
        (
            _with(aliases=["www.github.com"]),
            "REGISTRY_EXTRA_FORGES[0]: the host 'www.github.com' is already used by the "
            "built-in forge github.com; give each forge a host and aliases of its own.",
        ),
    ],
)
def test_it_rejects_a_bad_entry_naming_the_key(entry: list, message: str) -> None:
    assert _bad(entry) == message


def test_it_rejects_two_entries_for_one_host() -> None:
    second = {"host": "mirror.example.org", "web_base_url": "https://mirror.example.org"}
    assert _bad([SELF_HOSTED_GITLAB, {**second, "name_rules": "github"}, SELF_HOSTED_GITLAB]) == (
        "REGISTRY_EXTRA_FORGES[2]: the host 'git.example.org' is already used by the forge "
        "git.example.org; give each forge a host and aliases of its own."
    )


def _setup(value: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from registry.identifiers import parse_identifier; "
        "print(parse_identifier('https://git.example.org/group/sub/tool').canonical)"
    )
    env = {**os.environ, "DEBUG": "true", VARIABLE: value}
    env["DJANGO_SETTINGS_MODULE"] = "governance.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_settings_read_the_variable_at_start_up() -> None:
    good = _setup(json.dumps([SELF_HOSTED_GITLAB]))
    assert good.returncode == 0, good.stderr
    assert good.stdout == "git.example.org/group/sub/tool\n"
    bad = _setup('[{"host": "git.example.org"}]')
    assert bad.returncode != 0
    assert bad.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: REGISTRY_EXTRA_FORGES[0]: 'web_base_url' "
        'is missing; e.g. [{"host": "git.example.org", "web_base_url": '
        '"https://git.example.org", "api_flavour": "gitlab"}].'
    )
