"""How each opt-out marker a repository can carry at its root is read (docs/releases.md).

The text comes from the dataset's rows, so it is hostile: each reader looks at a bounded
prefix of the file, never raises on bad bytes, and answers only with the line that
carries the opt-out (or ``None``), cut to ``EVIDENCE_CHARS`` for the evidence.

- ``.dataset-optout``: at most ``OPTOUT_FILE_BYTES``, UTF-8; a line that is exactly
  ``opt-out`` (surrounding spaces and tabs aside) is the directive. Every other line
  (comments, a verification token) is ignored, so one file can serve both purposes.
- ``robots.txt``: the IETF AIPREF attachment (draft-ietf-aipref-attach) adds a
  ``Content-Usage: <path> <preference>`` rule to robots.txt groups, and the vocabulary
  (draft-ietf-aipref-vocab) serialises a preference as an RFC 9651 dictionary read with
  ``http_sf``. A repository counts as opted out when a group for every crawler (``*``)
  that does not disallow ``/`` has a rule for path ``/`` whose preference is
  ``train-ai=n``: the whole tree, for AI training, which is what this dataset is for.
"""

from __future__ import annotations

import http_sf

from governance.enums import MarkerKind

OPTOUT_FILE_BYTES = 4096  # a marker is a few lines; a larger file is something else
ROBOTS_FILE_BYTES = 500 * 1024  # RFC 9309's limit for parsing robots.txt
EVIDENCE_CHARS = 200
DIRECTIVE = "opt-out"

# Root file name -> the marker it may hold.
MARKER_FILES = {
    ".dataset-optout": MarkerKind.DATASET_OPTOUT,
    "robots.txt": MarkerKind.AIPREF_ROBOTS,
}


def read_marker(kind: str, content: str | bytes | None) -> str | None:
    """The line of ``content`` that opts its repository out, or ``None``."""
    if content is None:
        return None
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if kind == MarkerKind.DATASET_OPTOUT:
        return _optout_directive(raw)
    if kind == MarkerKind.AIPREF_ROBOTS:
        return _robots_train_ai_refused(raw)
    return None


def _lines(raw: bytes, limit: int) -> list[str] | None:
    try:
        text = raw[:limit].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.split("\n")


def _optout_directive(raw: bytes) -> str | None:
    if len(raw) > OPTOUT_FILE_BYTES:
        return None
    lines = _lines(raw, OPTOUT_FILE_BYTES)
    if lines is None:
        return None
    for line in lines:
        if line.strip(" \t\r") == DIRECTIVE:
            return DIRECTIVE
    return None


def _robots_train_ai_refused(raw: bytes) -> str | None:
    # A truncated file may end in a cut line: only whole lines count.
    lines = _lines(raw, ROBOTS_FILE_BYTES) or []
    if len(raw) > ROBOTS_FILE_BYTES:
        lines = lines[:-1]
    groups: list[tuple[set[str], list[tuple[str, str]]]] = []
    in_agents = False
    for line in lines:
        key, colon, value = line.split("#", 1)[0].partition(":")
        key, value = key.strip(" \t\r").lower(), value.strip(" \t\r")
        if not colon or not key:
            continue
        if key == "user-agent":
            if not in_agents:
                groups.append((set(), []))
            groups[-1][0].add(value.lower())
            in_agents = True
            continue
        in_agents = False
        if groups:
            groups[-1][1].append((key, value))
    # RFC 9309: every group naming "*" applies together.
    rules = [rule for agents, group in groups if "*" in agents for rule in group]
    if ("disallow", "/") in rules and ("allow", "/") not in rules:
        return None  # the root cannot be crawled, so no preference is attached to it
    for key, value in rules:
        if key != "content-usage":
            continue
        path, _, preference = value.replace("\t", " ").partition(" ")
        if path == "/" and _refuses_training(preference.strip(" ")):
            return f"Content-Usage: {value}"[:EVIDENCE_CHARS]
    return None


def _refuses_training(preference: str) -> bool:
    """Whether an AIPREF preference says ``train-ai=n`` (vocabulary's processing rules:
    a dictionary that fails to parse states nothing; only the Token ``n`` disallows)."""
    try:
        parsed = http_sf.parse(preference.encode("ascii"), tltype="dictionary")
    except ValueError:  # not ASCII, or not a dictionary (http_sf's error is a ValueError)
        return False
    value = parsed.get("train-ai")
    return value is not None and isinstance(value[0], http_sf.Token) and value[0] == "n"
