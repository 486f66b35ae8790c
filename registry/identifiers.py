"""Turn what people paste into canonical repository or namespace identifiers.

It lives in the registry, not in optout, because canonical ids are the registry's keys
and both the owner pages and the pipeline API parse input: the registry may not import
optout (DESIGN.md), so the one parser sits at the bottom of the dependency graph.

MINIMAL (Foundation): accepts https URLs, ``host/owner[/name]`` and bare ``owner/name``
for the default host, folds case, and checks a conservative character set. The
identifiers issue replaces this with per-forge rules, SSH forms and nested groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.enums import ExclusionKind

KNOWN_HOSTS = ("github.com", "gitlab.com", "codeberg.org", "bitbucket.org")
DEFAULT_HOST = "github.com"
_SEGMENT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_])?$|^[A-Za-z0-9]$")


class IdentifierError(ValueError):
    """The text is not a repository or namespace; the message says why and how to fix it."""


@dataclass(frozen=True)
class Identifier:
    kind: ExclusionKind
    canonical: str

    def __str__(self) -> str:
        return self.canonical


def parse_identifier(text: str) -> Identifier:
    raw = text.strip()
    if not raw:
        raise IdentifierError("The line is empty; enter a repository such as owner/name.")
    cleaned = re.sub(r"^https://", "", raw).rstrip("/")
    if cleaned.endswith(".git"):
        cleaned = cleaned[: -len(".git")]
    parts = cleaned.split("/")
    if parts[0].lower() not in KNOWN_HOSTS:
        if "." in parts[0] or ":" in parts[0]:
            raise IdentifierError(
                f"{parts[0]!r} is not a supported host; use one of {', '.join(KNOWN_HOSTS)}."
            )
        parts = [DEFAULT_HOST, *parts]
    host, segments = parts[0].lower(), parts[1:]
    if not 1 <= len(segments) <= 2:
        raise IdentifierError(
            f"{raw!r} should be owner/name (a repository) or host/owner (a whole namespace)."
        )
    for segment in segments:
        if segment in {".", ".."} or not _SEGMENT.match(segment):
            raise IdentifierError(
                f"{segment!r} is not a valid owner or repository name: use letters, digits, "
                "'.', '-' and '_', starting with a letter or digit."
            )
    canonical = "/".join([host, *(s.lower() for s in segments)])
    kind = ExclusionKind.REPOSITORY if len(segments) == 2 else ExclusionKind.NAMESPACE
    return Identifier(kind=kind, canonical=canonical)
