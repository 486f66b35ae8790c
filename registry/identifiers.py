"""Turn what people paste into canonical repository or namespace identifiers.

It lives in the registry, not in optout, because canonical ids are the registry's keys
and both the owner pages and the pipeline API parse input: the registry may not import
optout (DESIGN.md), so the one parser sits at the bottom of the dependency graph.

Accepted forms (``host`` must be a configured forge, see ``registry/forges.py``):

- ``https://host/owner/name`` with ``.git``, a trailing slash, ``/tree/…``, ``/-/…``,
  a query or a fragment; ``http://``, ``ssh://git@host/owner/name.git``;
- ``git@host:owner/name.git`` (the scp-like SSH form);
- bare ``host/owner/name`` and ``host/owner``; bare ``owner/name`` means github.com;
- nested groups where the forge has them: ``gitlab.com/group/sub/name`` is a repository,
  ``gitlab.com/group/sub/*`` (or ``https://gitlab.com/groups/group/sub``) is the namespace.

Canonical forms: ``host/owner/name`` for a repository, ``host/owner[/subgroup…]`` for a
namespace, folded to lower case where the forge ignores case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from registry.enums import ExclusionKind
from registry.forges import DEFAULT_HOST, Forge, forge_for_host, forges

MAX_INPUT_LENGTH = 600
MAX_CANONICAL_LENGTH = 512  # the registry's column width
_SCHEMES = {"https", "http", "ssh", "git+ssh", "git"}
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
_SCP = re.compile(r"(?P<user>[^@/:]+)@(?P<host>[^:/]+):(?P<path>.*)", re.DOTALL)
# Pages under a repository on forges without nested groups: github.com/o/n/tree/main.
_REPOSITORY_PAGES = frozenset(
    {"tree", "blob", "commits", "commit", "issues", "pulls", "pull", "releases", "tags"}
    | {"branches", "src", "wiki", "actions", "raw", "compare", "settings", "activity"}
    | {"downloads", "branch", "packages", "projects", "security", "network", "graphs"}
)


class IdentifierError(ValueError):
    """The text is not a repository or namespace; the message says why and how to fix it."""


@dataclass(frozen=True)
class Identifier:
    kind: ExclusionKind
    canonical: str

    def __str__(self) -> str:
        return self.canonical

    @property
    def host(self) -> str:
        return self.canonical.split("/", 1)[0]

    @property
    def path(self) -> str:
        """Everything after the host: ``owner/name`` or ``group/sub/name`` or ``owner``."""
        return self.canonical.split("/", 1)[1]

    @property
    def owner(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def namespace_path(self) -> str:
        """The namespace part of the path: the whole path for a namespace."""
        if self.kind == ExclusionKind.NAMESPACE:
            return self.path
        return self.path.rsplit("/", 1)[0]

    @property
    def name(self) -> str | None:
        return self.path.rsplit("/", 1)[1] if self.kind == ExclusionKind.REPOSITORY else None


def _fail(message: str) -> IdentifierError:
    return IdentifierError(message)


def _hosts_hint() -> str:
    return ", ".join(forges())


def _split_input(raw: str) -> tuple[str, str, bool]:
    """``(host, path, is_url)`` from a URL, an scp-like SSH address or a bare form."""
    url = _URL.fullmatch(raw)
    if url:
        scheme = url["scheme"].lower()
        if scheme not in _SCHEMES:
            raise _fail(
                f"{scheme}:// addresses are not accepted; paste an https:// URL, a git@ SSH "
                "address, or host/owner/name."
            )
        authority, _, path = url["rest"].partition("/")
        path = re.split(r"[?#]", path, maxsplit=1)[0]
        if "@" in authority:
            user, _, authority = authority.rpartition("@")
            if scheme not in {"ssh", "git+ssh"} or user != "git":
                raise _fail(
                    f"Remove {user + '@'!r} from the address: a user name or password is not "
                    "part of a repository's name."
                )
        if re.search(r":\d*$", authority) and not authority.endswith("]"):
            raise _fail(
                f"Remove the port from {authority!r}: name the repository on its forge, "
                "e.g. https://github.com/owner/name."
            )
        return authority, path, True
    scp = _SCP.fullmatch(raw)
    if scp and "." in scp["host"]:
        if scp["user"] != "git":
            raise _fail(
                f"SSH addresses look like git@host:owner/name.git; {scp['user']!r} is not the "
                "forge's git user."
            )
        return scp["host"], scp["path"], True
    first, _, rest = raw.partition("/")
    if any(ch in first for ch in ".:@[]") or not rest:
        return first, rest, False
    return DEFAULT_HOST, raw, False


def parse_identifier(text: str) -> Identifier:
    """Parse one pasted line into an :class:`Identifier`, or raise :class:`IdentifierError`."""
    return _parse_simple(text, forges()) or _parse_full(text)


def parse_identifiers(texts: Iterable[str]) -> Iterator[Identifier | IdentifierError]:
    """:func:`parse_identifier` over many lines (the bulk check): each line's identifier, or
    its error, in order. The forge table is read once for the whole batch."""
    table = forges()
    for text in texts:
        try:
            yield _parse_simple(text, table) or _parse_full(text)
        except IdentifierError as exc:
            yield exc


# The fast path. Most lines a pipeline sends are already canonical, or plain owner/name:
# ASCII letters, digits, '.', '-' and '_' in two or three segments. For those the full
# parser's URL and SSH forms, escapes, whitespace and '*' cannot apply, so what is left is
# the forge lookup, its reserved pages and name rules, and case folding, done here with
# the same Forge objects and NameRule checks. Anything else, and anything the full parser
# would reject or rewrite (a '.git' suffix, an alias host, nested groups on the default
# host), returns None and goes to the full parser, which words the error. A hypothesis
# test holds the two paths equal over generated and hostile input.
_SIMPLE = re.compile(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)?")


def _parse_simple(text: str, table: dict[str, Forge]) -> Identifier | None:
    if len(text) > MAX_INPUT_LENGTH or not _SIMPLE.fullmatch(text):
        return None
    segments = text.split("/")
    if len(segments) == 3:
        if "." not in segments[0]:
            return None  # host/owner/name needs a host; a.b/c/d on the default host is not ours
        forge = table.get(segments[0].lower())  # aliases (www.…) go to the full parser
        owner, name = segments[1], segments[2]
    else:
        if "." in segments[0]:
            return None  # host/owner: a namespace
        forge = table.get(DEFAULT_HOST)
        owner, name = segments
    if forge is None or name.lower().endswith(".git"):
        return None
    if forge.nested_groups and ("-" in segments or forge.max_group_depth < 1):
        return None
    if forge.fold(owner).lower() in forge.reserved_owners:
        return None
    if forge.owner_rule.problem(owner) or forge.name_rule.problem(name):
        return None
    canonical = f"{forge.host}/{forge.fold(owner)}/{forge.fold(name)}"
    if len(canonical) > MAX_CANONICAL_LENGTH:
        return None
    return Identifier(kind=ExclusionKind.REPOSITORY, canonical=canonical)


def _parse_full(text: str) -> Identifier:
    raw = text.strip()
    if not raw:
        raise _fail("The line is empty; enter a repository such as owner/name.")
    if len(raw) > MAX_INPUT_LENGTH:
        raise _fail(
            f"The line is {len(raw)} characters long; the limit is {MAX_INPUT_LENGTH}. "
            "Put one repository or namespace on each line."
        )
    # str.split() splits on exactly the characters str.isspace() names; both checks run in
    # C, where a loop over the characters cost a third of a 10,000-line bulk check.
    if not raw.isprintable() or len(raw.split()) != 1:
        raise _fail(
            "The line contains a space or an invisible character; put one repository or "
            "namespace on each line."
        )
    if "%" in raw or "\\" in raw:
        raise _fail(
            "Escaped characters ('%' or '\\') are not allowed; paste the name as the forge "
            "shows it."
        )
    host, path, is_url = _split_input(raw)
    forge = forge_for_host(host)
    if forge is None:
        if "/" not in raw and "." not in raw:
            raise _fail(
                f"{raw!r} is only one name. For every repository of a user or organisation "
                f"write it with its host, e.g. github.com/{raw}; for one repository write "
                "owner/name."
            )
        raise _fail(f"{host!r} is not a supported host; use one of {_hosts_hint()}.")
    return _parse_path(forge, path, raw, is_url=is_url)


def _parse_path(forge: Forge, path: str, raw: str, *, is_url: bool) -> Identifier:
    path = path.rstrip("/")
    if path.startswith("/") and is_url:
        path = path.lstrip("/")
    if path.lower().endswith(".git"):
        path = path[: -len(".git")]
    if not path:
        raise _fail(
            f"{raw!r} names a host but no owner; add the user, organisation or repository, "
            f"e.g. {forge.host}/owner/name."
        )
    segments = path.split("/")
    if "" in segments:
        raise _fail(f"{raw!r} has an empty path segment ('//'); remove the extra slash.")
    for segment in segments:
        if segment in {".", ".."}:
            raise _fail(f"{raw!r} contains the dot-segment {segment!r}; remove it.")
    explicit_namespace = False
    if segments[-1] == "*":
        explicit_namespace = True
        segments = segments[:-1]
    if forge.nested_groups:
        if "-" in segments:  # GitLab: /group/project/-/tree/main
            segments = segments[: segments.index("-")]
        if is_url and segments and segments[0] == "groups":
            explicit_namespace, segments = True, segments[1:]
    else:
        if is_url and forge.host == "github.com" and segments[:1] == ["orgs"]:
            explicit_namespace, segments = True, segments[1:2]
        if len(segments) > 2 and segments[2] in _REPOSITORY_PAGES:
            segments = segments[:2]
    if not segments or "*" in segments:
        raise _fail(f"{raw!r} is not a repository or namespace; write {forge.host}/owner/name.")
    return _build(forge, segments, raw, explicit_namespace=explicit_namespace)


def _build(forge: Forge, segments: list[str], raw: str, *, explicit_namespace: bool) -> Identifier:
    if forge.nested_groups:
        kind = (
            ExclusionKind.NAMESPACE
            if explicit_namespace or len(segments) == 1
            else ExclusionKind.REPOSITORY
        )
        groups = segments if kind == ExclusionKind.NAMESPACE else segments[:-1]
        if len(groups) > forge.max_group_depth:
            raise _fail(
                f"{raw!r} has {len(groups)} levels of groups; {forge.label} allows at most "
                f"{forge.max_group_depth}."
            )
    else:
        if len(segments) > 2 or (explicit_namespace and len(segments) != 1):
            raise _fail(
                f"{raw!r} has too many parts: {forge.label} names are owner/name for a "
                f"repository or {forge.host}/owner for a whole user or organisation."
            )
        kind = ExclusionKind.NAMESPACE if len(segments) == 1 else ExclusionKind.REPOSITORY
        groups = segments[:1]
    if forge.fold(groups[0]).lower() in forge.reserved_owners:
        raise _fail(
            f"{groups[0]!r} is a page of {forge.host}, not a user or organisation; "
            "paste the address of the repository or of its owner."
        )
    problems = [forge.owner_rule.problem(groups[0])]
    problems += [forge.subgroup_rule.problem(group) for group in groups[1:]]
    if kind == ExclusionKind.REPOSITORY:
        problems.append(forge.name_rule.problem(segments[-1]))
    for problem in problems:
        if problem:
            raise _fail(f"On {forge.host}, {problem}.")
    canonical = "/".join([forge.host, *(forge.fold(s) for s in segments)])
    if len(canonical) > MAX_CANONICAL_LENGTH:
        raise _fail(
            f"The identifier is {len(canonical)} characters long; the limit is "
            f"{MAX_CANONICAL_LENGTH}."
        )
    return Identifier(kind=kind, canonical=canonical)


RENDER_STYLES = ("canonical", "https", "https-git", "ssh", "bare")


def render_identifier(identifier: Identifier, style: str = "canonical") -> str:
    """Write ``identifier`` in one of the forms people paste; the parser reads it back.

    ``bare`` (owner/name without the host) exists only for repositories on the default
    host; ``ssh`` and ``https-git`` only for repositories. Other combinations fall back to
    the canonical form.
    """
    nested_namespace = identifier.kind == ExclusionKind.NAMESPACE and "/" in identifier.path
    canonical = identifier.canonical + ("/*" if nested_namespace else "")
    is_repository = identifier.kind == ExclusionKind.REPOSITORY
    if style == "https":
        return f"https://{canonical}"
    if style == "https-git" and is_repository:
        return f"https://{identifier.canonical}.git"
    if style == "ssh" and is_repository:
        return f"git@{identifier.host}:{identifier.path}.git"
    if style == "bare" and is_repository and identifier.host == DEFAULT_HOST:
        return identifier.path
    return canonical
