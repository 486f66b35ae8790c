"""The forges the portal knows, configured in one place.

A forge is a git host: its canonical host name, whether it ignores case, the rules its
owner and repository names follow, whether it has nested groups, where its web and API
live, and which django-allauth provider signs its users in. The identifier parser, the
outbound fetcher and the verification methods all read this table; nothing else names a
host.

Extra forges (a self-hosted GitLab, or the loopback forge the tests start) are added
with the ``REGISTRY_EXTRA_FORGES`` setting: a list of :class:`Forge` objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings


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
        for suffix in (".git", *self.forbidden_suffixes):
            if name.lower().endswith(suffix):
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
    """Every configured forge by canonical host (defaults first, then REGISTRY_EXTRA_FORGES)."""
    table = {forge.host: forge for forge in DEFAULT_FORGES}
    for forge in getattr(settings, "REGISTRY_EXTRA_FORGES", ()):
        table[forge.host] = forge
    return table


def forge_for_host(host: str) -> Forge | None:
    """The forge answering to ``host`` (its canonical name or an alias), any case."""
    lowered = host.lower()
    for forge in forges().values():
        if lowered == forge.host or lowered in forge.aliases:
            return forge
    return None
