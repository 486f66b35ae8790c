"""The forges the portal knows, configured in one place.

A forge is a git host: its canonical host name, whether it ignores case, the rules its
owner and repository names follow, whether it has nested groups, where its web and API
live, and which django-allauth provider signs its users in. The identifier parser, the
outbound fetcher and the verification methods all read this table; nothing else names a
host.

Extra forges (a self-hosted GitLab, or the loopback forges the tests start) are added
with the ``REGISTRY_EXTRA_FORGES`` setting: a list of :class:`Forge` objects, which the
settings read from the environment variable of the same name, a JSON list parsed by
:func:`forges_from_env` (see docs/requests.md for its keys).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class NameRule:
    """What one kind of name (an owner, a group, a repository) may look like on a forge."""

    pattern: re.Pattern[str]
    max_length: int
    description: str  # said to people when a name breaks the rule
    forbidden_suffixes: tuple[str, ...] = ()

    def problem(self, name: str) -> str | None:
        """Why ``name`` breaks this rule, or ``None`` when it is fine."""
        if name in {".", ".."}:
            return f"{name!r} is a dot-segment, not a name"
        if len(name) > self.max_length:
            return f"{name[:40]!r}… is {len(name)} characters long; the limit is {self.max_length}"
        if not self.pattern.fullmatch(name):
            return f"{name!r} is not allowed: {self.description}"
        # ".git" on every forge: the parser strips it from URLs, so such a name could not
        # be written unambiguously.
        suffixes = (".git", *self.forbidden_suffixes)
        folded = name.lower()
        if folded.endswith(suffixes):  # one call for all: this runs twice a bulk-check line
            suffix = next(s for s in suffixes if folded.endswith(s))
            return f"{name!r} is not allowed: names may not end in {suffix!r}"
        return None


@dataclass(frozen=True)
class Forge:
    host: str
    label: str
    case_sensitive: bool
    owner_rule: NameRule
    name_rule: NameRule
    # Forges with nested groups (GitLab) allow host/group/subgroup/…/name.
    nested_groups: bool = False
    group_rule: NameRule | None = None  # rule for subgroups; defaults to owner_rule
    max_group_depth: int = 1
    # Where the portal connects. Production forges are https; only tests use http on
    # loopback, and only with OPTOUT_OUTBOUND_ALLOW_LOOPBACK set.
    web_base_url: str = ""
    api_base_url: str = ""
    api_flavour: str = ""  # "github", "gitlab", "gitea", "bitbucket"
    signin_provider: str = ""  # django-allauth provider id, "" when there is none
    aliases: tuple[str, ...] = ()
    # First path segments that are forge pages, not users ("settings", "explore", …).
    reserved_owners: frozenset[str] = field(default_factory=frozenset)

    def fold(self, text: str) -> str:
        return text if self.case_sensitive else text.lower()

    @property
    def subgroup_rule(self) -> NameRule:
        return self.group_rule or self.owner_rule


_GITHUB_OWNER = NameRule(
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*"),
    39,
    "GitHub user and organisation names use letters, digits and single hyphens, "
    "and do not start or end with a hyphen",
)
_GITHUB_NAME = NameRule(
    re.compile(r"[A-Za-z0-9._-]+"),
    100,
    "GitHub repository names use letters, digits, '.', '-' and '_'",
    forbidden_suffixes=(".git",),
)
_GITLAB_PATH = NameRule(
    re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"),
    255,
    "GitLab paths use letters, digits, '_', '-' and '.', start with a letter, digit or '_', "
    "and end with a letter, digit or '_'",
    forbidden_suffixes=(".git", ".atom"),
)
_GITEA_OWNER = NameRule(
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9]))*"),
    40,
    "Codeberg user and organisation names use letters, digits and single '-', '_' or '.', "
    "starting and ending with a letter or digit",
)
_GITEA_NAME = NameRule(
    re.compile(r"[A-Za-z0-9._-]+"),
    100,
    "Codeberg repository names use letters, digits, '.', '-' and '_'",
    forbidden_suffixes=(".git", ".wiki"),
)
_BITBUCKET_WORKSPACE = NameRule(
    re.compile(r"[A-Za-z0-9_-]+"),
    62,
    "Bitbucket workspace ids use letters, digits, '-' and '_'",
)
_BITBUCKET_NAME = NameRule(
    re.compile(r"[A-Za-z0-9_.-]+"),
    62,
    "Bitbucket repository slugs use letters, digits, '-', '_' and '.'",
    forbidden_suffixes=(".git",),
)

DEFAULT_FORGES: tuple[Forge, ...] = (
    Forge(
        host="github.com",
        label="GitHub",
        case_sensitive=False,
        owner_rule=_GITHUB_OWNER,
        name_rule=_GITHUB_NAME,
        web_base_url="https://github.com",
        api_base_url="https://api.github.com",
        api_flavour="github",
        signin_provider="github",
        aliases=("www.github.com",),
        reserved_owners=frozenset(
            {"orgs", "settings", "explore", "topics", "marketplace", "login", "join", "about"}
            | {"features", "sponsors", "notifications", "new", "organizations", "pricing"}
            | {"security", "site", "enterprise", "search", "trending", "collections", "apps"}
        ),
    ),
    Forge(
        host="gitlab.com",
        label="GitLab",
        case_sensitive=False,
        owner_rule=_GITLAB_PATH,
        name_rule=_GITLAB_PATH,
        nested_groups=True,
        max_group_depth=20,
        web_base_url="https://gitlab.com",
        api_base_url="https://gitlab.com/api/v4",
        api_flavour="gitlab",
        signin_provider="gitlab",
        aliases=("www.gitlab.com",),
        reserved_owners=frozenset({"-", "groups", "users", "explore", "dashboard", "help", "api"}),
    ),
    Forge(
        host="codeberg.org",
        label="Codeberg",
        case_sensitive=False,
        owner_rule=_GITEA_OWNER,
        name_rule=_GITEA_NAME,
        web_base_url="https://codeberg.org",
        api_base_url="https://codeberg.org/api/v1",
        api_flavour="gitea",
        reserved_owners=frozenset({"explore", "user", "org", "admin", "api", "repo", "assets"}),
    ),
    Forge(
        host="bitbucket.org",
        label="Bitbucket",
        case_sensitive=False,
        owner_rule=_BITBUCKET_WORKSPACE,
        name_rule=_BITBUCKET_NAME,
        web_base_url="https://bitbucket.org",
        api_base_url="https://api.bitbucket.org/2.0",
        api_flavour="bitbucket",
        aliases=("www.bitbucket.org",),
        reserved_owners=frozenset({"account", "dashboard", "repo", "site", "socialauth"}),
    ),
)

DEFAULT_HOST = "github.com"


def forges() -> dict[str, Forge]:
    """Every configured forge by canonical host (defaults first, then REGISTRY_EXTRA_FORGES).

    The tests also assign ``Forge`` objects to the setting directly; the environment
    variable goes through :func:`forges_from_env`, which refuses to shadow a default.
    """
    table = {forge.host: forge for forge in DEFAULT_FORGES}
    for forge in getattr(settings, "REGISTRY_EXTRA_FORGES", ()):
        table[forge.host] = forge
    return table


def forge_for_host(host: str) -> Forge | None:
    """The forge answering to ``host`` (its canonical name or an alias), any case."""
    lowered = host.lower()
    table = forges()
    if lowered in table:  # the common case: one dict lookup, no scan
        return table[lowered]
    return next((forge for forge in table.values() if lowered in forge.aliases), None)


# --- Extra forges from the environment ----------------------------------------------------

# Which built-in forge lends its name rules (and nested groups, reserved pages) to an extra
# forge of that software. "gitea" covers Gitea and Forgejo (Codeberg runs Forgejo).
_RULES_FROM = {
    "github": "github.com",
    "gitlab": "gitlab.com",
    "gitea": "codeberg.org",
    "bitbucket": "bitbucket.org",
}
# Where the API lives under the web address when the variable does not say.
_API_PATHS = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}
_PROVIDERS = ("github", "gitlab")
_KEYS = {
    "host": str,
    "web_base_url": str,
    "label": str,
    "api_base_url": str,
    "api_flavour": str,
    "name_rules": str,
    "signin_provider": str,
    "case_sensitive": bool,
    "aliases": list,
    "reserved_owners": list,
}
_HOST = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)
_EXAMPLE = (
    '[{"host": "git.example.org", "web_base_url": "https://git.example.org", '
    '"api_flavour": "gitlab"}]'
)


def forges_from_env(name: str) -> list[Forge]:
    """The forges described by the environment variable ``name`` (unset or empty: none).

    Raises ``ImproperlyConfigured`` naming the variable, the entry and the key, and saying
    what a good value looks like: a typo must stop start-up, not drop a forge.
    """
    value = os.environ.get(name, "").strip()
    return forges_from_json(name, value) if value else []


def forges_from_json(name: str, text: str) -> list[Forge]:
    """Parse ``text``, the value of the variable ``name``, into forges (see forges_from_env)."""
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} is not valid JSON ({exc}); write a list of forges such as {_EXAMPLE}."
        ) from None
    if not isinstance(entries, list):
        raise ImproperlyConfigured(
            f"{name} must be a JSON list of forges, not {_json_type(entries)}; e.g. {_EXAMPLE}."
        )
    taken = {
        alias: forge.host for forge in DEFAULT_FORGES for alias in (forge.host, *forge.aliases)
    }
    result: list[Forge] = []
    for index, entry in enumerate(entries):
        where = f"{name}[{index}]"
        forge = _forge_from_entry(where, entry)
        for host in (forge.host, *forge.aliases):
            if host in taken:
                owner = taken[host]
                built_in = "built-in " if owner in _default_hosts() else ""
                raise ImproperlyConfigured(
                    f"{where}: the host {host!r} is already used by the {built_in}forge "
                    f"{owner}; give each forge a host and aliases of its own."
                )
            taken[host] = forge.host
        result.append(forge)
    return result


def _default_hosts() -> set[str]:
    return {forge.host for forge in DEFAULT_FORGES}


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def _forge_from_entry(where: str, entry: object) -> Forge:
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(
            f'{where} must be a JSON object with at least "host" and "web_base_url", '
            f"not {_json_type(entry)}."
        )
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(_KEYS)}."
        )
    for key, kind in _KEYS.items():
        if key in entry and not isinstance(entry[key], kind):
            raise ImproperlyConfigured(
                f"{where}.{key} must be {_json_type(kind())}, not {_json_type(entry[key])}."
            )
    for key in ("host", "web_base_url"):
        if not entry.get(key):
            raise ImproperlyConfigured(f"{where}: {key!r} is missing; e.g. {_EXAMPLE}.")
    host = _host(f"{where}.host", entry["host"])
    aliases = tuple(_host(f"{where}.aliases", alias) for alias in _strings(where, entry, "aliases"))
    flavour = _choice(where, entry, "api_flavour", tuple(_RULES_FROM))
    rules_of = _choice(where, entry, "name_rules", tuple(_RULES_FROM)) or flavour
    if not rules_of:
        raise ImproperlyConfigured(
            f'{where}: say which names the forge accepts with "name_rules" (or '
            f'"api_flavour"): one of {", ".join(_RULES_FROM)}.'
        )
    web = _base_url(f"{where}.web_base_url", entry["web_base_url"])
    api = entry.get("api_base_url", "")
    if api:
        api = _base_url(f"{where}.api_base_url", api)
    elif flavour in _API_PATHS:
        api = web + _API_PATHS[flavour]
    elif flavour:
        raise ImproperlyConfigured(
            f'{where}: "api_base_url" is needed for api_flavour {flavour!r}; '
            "give the forge's API address."
        )
    label = entry.get("label", "").strip() or host
    model = {forge.host: forge for forge in DEFAULT_FORGES}[_RULES_FROM[rules_of]]
    reserved = {owner.lower() for owner in _strings(where, entry, "reserved_owners")}
    return Forge(
        host=host,
        label=label,
        case_sensitive=entry.get("case_sensitive", False),
        owner_rule=_relabelled(model.owner_rule, model.label, label),
        name_rule=_relabelled(model.name_rule, model.label, label),
        nested_groups=model.nested_groups,
        group_rule=model.group_rule,
        max_group_depth=model.max_group_depth,
        web_base_url=web,
        api_base_url=api,
        api_flavour=flavour,
        signin_provider=_choice(where, entry, "signin_provider", _PROVIDERS),
        aliases=aliases,
        reserved_owners=model.reserved_owners | reserved,
    )


def _relabelled(rule: NameRule, old: str, new: str) -> NameRule:
    # "GitHub user and organisation names use …" would mislead on a self-hosted forge.
    return replace(rule, description=rule.description.replace(old, new))


def _strings(where: str, entry: dict[str, Any], key: str) -> list[str]:
    values = entry.get(key, [])
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ImproperlyConfigured(
                f"{where}.{key} must be a list of non-empty strings; found {value!r}."
            )
    return [value.strip() for value in values]


def _choice(where: str, entry: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = entry.get(key, "")
    if value and value not in allowed:
        raise ImproperlyConfigured(
            f"{where}.{key} is {value!r}; use one of {', '.join(allowed)} (or leave it out)."
        )
    return value


def _host(where: str, value: str) -> str:
    host = value.strip().lower()
    if not _HOST.fullmatch(host) or _is_ip_address(host):
        raise ImproperlyConfigured(
            f"{where} {value!r} is not a host name; write a DNS name such as git.example.org "
            "(no scheme, port, path or IP address)."
        )
    return host


def _base_url(where: str, value: str) -> str:
    parts = urlsplit(value.strip())
    problem = ""
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problem = "is not an http(s) URL"
    elif parts.username is not None or parts.password is not None:
        problem = "contains a user name or password; forges are read anonymously"
    elif parts.query or parts.fragment:
        problem = "has a query or fragment; give the base address only"
    elif parts.scheme == "http" and not _is_loopback(parts.hostname):
        problem = "uses plain http; use https (plain http is only for loopback test servers)"
    if problem:
        raise ImproperlyConfigured(f"{where} {value!r} {problem}, e.g. https://git.example.org.")
    return value.strip().rstrip("/")


def _is_loopback(hostname: str) -> bool:
    return _is_ip_address(hostname) and ipaddress.ip_address(hostname).is_loopback


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
