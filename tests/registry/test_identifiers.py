"""The one identifier parser: accepted forms, clear rejections, and properties."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from registry.enums import ExclusionKind
from registry.forges import DEFAULT_FORGES, Forge, NameRule, forges
from registry.identifiers import (
    MAX_INPUT_LENGTH,
    RENDER_STYLES,
    Identifier,
    IdentifierError,
    _parse_full,
    _parse_simple,
    parse_identifier,
    parse_identifiers,
    render_identifier,
)
from tests import identifier_strategies

REPO = ExclusionKind.REPOSITORY
NAMESPACE = ExclusionKind.NAMESPACE

# A self-hosted forge that, unlike the defaults, is case-sensitive.
CASE_SENSITIVE_FORGE = Forge(
    host="git.example.test",
    label="Example git",
    case_sensitive=True,
    owner_rule=NameRule(re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), 40, "letters and digits"),
    name_rule=NameRule(re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*"), 60, "letters and digits"),
)


@pytest.fixture(autouse=True)
def _extra_forge(settings) -> None:
    settings.REGISTRY_EXTRA_FORGES = [CASE_SENSITIVE_FORGE]


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("https://github.com/Octo-Cat/Hello.World.git", REPO, "github.com/octo-cat/hello.world"),
        ("git@github.com:octo-cat/hello.world.git", REPO, "github.com/octo-cat/hello.world"),
        ("github.com/octo-cat", NAMESPACE, "github.com/octo-cat"),
        ("octo-cat/hello.world", REPO, "github.com/octo-cat/hello.world"),
        ("https://github.com/octocat/hello/", REPO, "github.com/octocat/hello"),
        ("https://github.com/octocat/hello/tree/main/src", REPO, "github.com/octocat/hello"),
        ("https://www.github.com/octocat/hello?tab=readme#top", REPO, "github.com/octocat/hello"),
        ("http://github.com/octocat/hello", REPO, "github.com/octocat/hello"),
        ("ssh://git@github.com/octocat/hello.git", REPO, "github.com/octocat/hello"),
        ("https://github.com/orgs/BigCorp/repositories", NAMESPACE, "github.com/bigcorp"),
        ("github.com/octocat/*", NAMESPACE, "github.com/octocat"),
        ("  octocat/.github  ", REPO, "github.com/octocat/.github"),
        ("gitlab.com/Group/Sub/Project", REPO, "gitlab.com/group/sub/project"),
        ("https://gitlab.com/group/sub/project/-/tree/main", REPO, "gitlab.com/group/sub/project"),
        ("gitlab.com/group/sub/*", NAMESPACE, "gitlab.com/group/sub"),
        ("https://gitlab.com/groups/group/sub", NAMESPACE, "gitlab.com/group/sub"),
        ("git@gitlab.com:group/sub/project.git", REPO, "gitlab.com/group/sub/project"),
        ("gitlab.com/group", NAMESPACE, "gitlab.com/group"),
        (
            "https://codeberg.org/forgejo/forgejo/src/branch/main",
            REPO,
            "codeberg.org/forgejo/forgejo",
        ),
        ("bitbucket.org/Team_1/Repo.Name", REPO, "bitbucket.org/team_1/repo.name"),
        ("git.example.test/Alice/Tool", REPO, "git.example.test/Alice/Tool"),
    ],
)
def test_it_accepts_what_people_paste(text: str, kind: ExclusionKind, canonical: str) -> None:
    assert parse_identifier(text) == Identifier(kind=kind, canonical=canonical)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The line is empty"),
        ("evil.example/x/y", "'evil.example' is not a supported host"),
        ("github.com.evil/x/y", "'github.com.evil' is not a supported host"),
        ("github.com@evil/x", "'github.com@evil' is not a supported host"),
        ("127.0.0.1/a/b", "'127.0.0.1' is not a supported host"),
        ("https://[::1]/a/b", "'[::1]' is not a supported host"),
        ("https://github.com:8443/a/b", "Remove the port from 'github.com:8443'"),
        ("https://user:pw@github.com/a/b", "Remove 'user:pw@' from the address"),
        ("file:///etc/passwd", "file:// addresses are not accepted"),
        ("javascript://alert(1)", "javascript:// addresses are not accepted"),
        ("root@github.com:a/b.git", "'root' is not the forge's git user"),
        ("octocat", "'octocat' is only one name"),
        ("github.com", "names a host but no owner"),
        ("github.com/a//b", "empty path segment"),
        ("github.com/../b", "dot-segment '..'"),
        ("octocat/.", "dot-segment '.'"),
        ("github.com/-octo/x", "do not start or end with a hyphen"),
        ("github.com/octo--cat/x", "single hyphens"),
        ("github.com/" + "a" * 40, "is 40 characters long; the limit is 39"),
        ("octocat/" + "r" * 101, "is 101 characters long; the limit is 100"),
        ("octocat/hello world", "a space or an invisible character"),
        ("octocat/hello%2fworld", "Escaped characters"),
        ("octocat/h\u00e9llo", "is not allowed: GitHub repository names"),
        ("github.com/a/b/c", "has too many parts"),
        ("github.com/a/b/*", "has too many parts"),
        ("github.com/settings/profile", "'settings' is a page of github.com"),
        ("gitlab.com/group/project.atom", "may not end in '.atom'"),
        ("gitlab.com/" + "/".join(["g"] * 22) + "/p", "22 levels of groups"),
        ("x" * 601, "the limit is 600"),
        ("octocat/x.git.git", "may not end in '.git'"),
        ("https://github.com/*", "is not a repository or namespace"),  # was an IndexError
        ("git.example.test/alice/tool.GIT.git", "may not end in '.git'"),
    ],
)
def test_it_rejects_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_identifier(text)
    assert message in str(caught.value)


# --- properties -------------------------------------------------------------------------


def identifiers() -> st.SearchStrategy[Identifier]:
    return identifier_strategies.identifiers(forges=[*DEFAULT_FORGES, CASE_SENSITIVE_FORGE])


PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(identifier=identifiers(), style=st.sampled_from(RENDER_STYLES))
def test_parse_reads_back_every_rendering(identifier: Identifier, style: str) -> None:
    assert parse_identifier(render_identifier(identifier, style)) == identifier


@PROPERTY_SETTINGS
@given(identifier=identifiers(), data=st.data())
def test_case_is_folded_only_where_the_forge_ignores_it(
    identifier: Identifier, data: st.DataObject
) -> None:
    text = render_identifier(identifier, "https")
    flips = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    shouted = "".join(ch.swapcase() if flip else ch for ch, flip in zip(text, flips, strict=True))
    parsed = parse_identifier(shouted)
    forge = forges()[identifier.host]
    if forge.case_sensitive:
        # The host is folded, never the path: on this forge case is part of the name.
        path_start = len("https://") + len(identifier.host) + 1
        assert parsed.canonical == identifier.host + "/" + shouted[path_start:].removesuffix("/*")
    else:
        assert parsed == identifier


_HOSTILE_ALPHABET = st.sampled_from(
    [*list("abcdef" + "./:@-_*?#%~ \t\\[]"), "github.com", "gitlab.com", "git@", "https://"]
)


@PROPERTY_SETTINGS
@given(text=st.one_of(st.text(max_size=80), st.lists(_HOSTILE_ALPHABET, max_size=12).map("".join)))
def test_nothing_unparseable_is_ever_accepted(text: str) -> None:
    try:
        parsed = parse_identifier(text)
    except IdentifierError as exc:
        assert str(exc)  # every rejection says something
        return
    forge = forges()[parsed.host]
    segments = parsed.path.split("/")
    assert re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", parsed.path)
    assert forge.owner_rule.problem(segments[0]) is None
    if parsed.kind == REPO:
        assert forge.name_rule.problem(segments[-1]) is None
    assert len(segments) <= (forge.max_group_depth + 1 if forge.nested_groups else 2)
    # The canonical form is a fixed point.
    assert parse_identifier(render_identifier(parsed)) == parsed


# --- the fast path -----------------------------------------------------------------------
# parse_identifier first tries _parse_simple (plain ASCII owner/name and host/owner/name);
# it must give exactly what the full parser gives, or step aside (None).

# A forge with nested groups but no room for a group, and a default host (github.com)
# replaced by a case-sensitive forge with nested groups: the fast path's rarer branches.
SHALLOW_NESTED_FORGE = Forge(
    host="nested.example.test",
    label="Nested",
    case_sensitive=False,
    owner_rule=DEFAULT_FORGES[1].owner_rule,
    name_rule=DEFAULT_FORGES[1].name_rule,
    nested_groups=True,
    max_group_depth=0,
)
NESTED_DEFAULT_HOST = Forge(
    host="github.com",
    label="GitHub-like",
    case_sensitive=True,
    owner_rule=DEFAULT_FORGES[1].owner_rule,
    name_rule=DEFAULT_FORGES[1].name_rule,
    nested_groups=True,
    max_group_depth=3,
    reserved_owners=frozenset({"explore"}),
)
# Nested groups with names that may be "-" (GitLab's own rules forbid it), and a host
# without a dot: both change what the full parser does with a bare a/b/c.
PERMISSIVE_NESTED_FORGE = Forge(
    host="permissive.example.test",
    label="Permissive",
    case_sensitive=False,
    owner_rule=NameRule(re.compile(r"[A-Za-z0-9._-]+"), 50, "anything simple"),
    name_rule=NameRule(re.compile(r"[A-Za-z0-9._-]+"), 50, "anything simple"),
    nested_groups=True,
    max_group_depth=2,
)
DOTLESS_FORGE = replace(CASE_SENSITIVE_FORGE, host="gitbox", label="Dotless")
_RESERVED = sorted({name for forge in DEFAULT_FORGES for name in forge.reserved_owners})
_EDGE_SEGMENTS = [
    *_RESERVED,
    *(name.upper() for name in _RESERVED),
    *[".", "..", "-", "_", "-a", "a-", "a--b", "a.b", ".a", "a.", "_a", "a_"],
    *["a.git", "a.GIT", "a.git.git", "a.atom", "a.wiki", "x.git/", ".git"],
    *["x" * n for n in (39, 40, 41, 62, 63, 100, 101, 255, 256, 300)],
    *["İ", "\u212a", "ß", "é", "ǅ", "a\u200bb", "a\x00", "a b", "%41", "a\\b", "*", "a:b"],
]
_SEGMENT = st.one_of(
    identifier_strategies.names(DEFAULT_FORGES[0].owner_rule, "-"),
    identifier_strategies.names(DEFAULT_FORGES[1].name_rule, "-_."),
    st.sampled_from(_EDGE_SEGMENTS),
    st.text(alphabet="aZz09.-_", min_size=1, max_size=12),
    st.text(max_size=6),
)
_HOST_PREFIX = st.sampled_from(
    [
        *["", "github.com/", "GitHub.COM/", "www.github.com/", "gitlab.com/", "GITLAB.com/"],
        *["codeberg.org/", "bitbucket.org/", "git.example.test/", "GIT.Example.test/"],
        *["nested.example.test/", "unknown.example/", "a/", "https://github.com/"],
        *["git@github.com:", "permissive.example.test/", "gitbox/", "GitBox/"],
    ]
)
_DECORATION = st.sampled_from(["", "", "", "", "", "/", ".git", ".GIT", " ", "/*", "\n", "/tree/x"])


@st.composite
def _pasted(draw: st.DrawFn) -> str:
    count = draw(st.sampled_from([1, 2, 2, 2, 3, 3, 4]))
    segments = draw(st.lists(_SEGMENT, min_size=count, max_size=count))
    return draw(_HOST_PREFIX) + "/".join(segments) + draw(_DECORATION)


def _outcome(parse, text: str) -> Identifier | str:
    try:
        return parse(text)
    except IdentifierError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize(
    "extra_forges",
    [
        [CASE_SENSITIVE_FORGE, SHALLOW_NESTED_FORGE, PERMISSIVE_NESTED_FORGE, DOTLESS_FORGE],
        [CASE_SENSITIVE_FORGE, NESTED_DEFAULT_HOST],
    ],
    ids=["default-forges", "nested-default-host"],
)
@hypothesis_settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        _pasted(),
        st.text(max_size=80),
        st.lists(_HOSTILE_ALPHABET, max_size=12).map("".join),
        st.integers(MAX_INPUT_LENGTH - 100, MAX_INPUT_LENGTH + 2).map(
            lambda n: "gitlab.com/" + "a" * 255 + "/" + "b" * (n - 267)
        ),
    )
)
@example(text="nested.example.test/group/project")  # no room for a group
@example(text="permissive.example.test/-/b")  # GitLab's '/-/' cuts the path
@example(text="permissive.example.test/a/-")
@example(text="gitbox/alice/tool")  # a dotless first segment is an owner, not a host
@example(text="a/b/c")
@example(text="gitlab.com/" + "a" * 255 + "/" + "b" * 250)  # canonical over 512
@example(text="github.com/Explore/x")
@example(text="octocat/hello.git")
@example(text="gitlab.com/group/-project")  # the name rule, not the owner's, says no
@example(text="octocat/" + "x" * 101)
@example(text="octocat/..")
def test_the_fast_path_agrees_with_the_full_parser(settings, extra_forges, text: str) -> None:
    settings.REGISTRY_EXTRA_FORGES = extra_forges
    full = _outcome(_parse_full, text)
    fast = _parse_simple(text, forges())
    if fast is not None:
        assert fast == full
    assert _outcome(parse_identifier, text) == full
    [batched] = parse_identifiers([text])
    assert (batched if isinstance(batched, Identifier) else f"error: {batched}") == full


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("github.com/octo-cat/hello.world", "github.com/octo-cat/hello.world"),
        ("Octo-Cat/Hello.World", "github.com/octo-cat/hello.world"),
        ("GitLab.com/Group/Project", "gitlab.com/group/project"),
        ("git.example.test/Alice/Tool", "git.example.test/Alice/Tool"),
    ],
)
def test_plain_repositories_take_the_fast_path(text: str, canonical: str) -> None:
    """The bulk check's speed depends on it: canonical and owner/name input is not sent
    through the full parser."""
    assert _parse_simple(text, forges()) == Identifier(kind=REPO, canonical=canonical)


def test_a_batch_answers_each_line_in_order() -> None:
    parsed = list(parse_identifiers(["octocat/hello", "not a repo", "github.com/octocat"]))
    assert parsed[0] == Identifier(kind=REPO, canonical="github.com/octocat/hello")
    assert isinstance(parsed[1], IdentifierError)
    assert parsed[2] == Identifier(kind=NAMESPACE, canonical="github.com/octocat")
