"""Range files for private lookups: hashes, padding and the signed manifest. No Django:
the server writes them with these functions (``registry.ranges``) and the stand-alone
client reads them (``registry.client``). docs/mirroring.md explains the design.

- A *key* is what is hashed: a repository as ``host/owner/name``, a namespace as
  ``host/owner/*`` (``host/group/sub/*`` for a nested group). Its SHA-256 in lowercase hex
  is split into a prefix of ``PREFIX_HEX`` characters (the file's name: what a server or
  CDN learns from a lookup) and a suffix (a line of the file).
- A range file lists the suffixes of every key in force with that prefix, plus padding,
  sorted, one per line. Padding line ``i`` is the suffix of
  ``SHA-256("optout-range-padding\0" ‖ i)``: random-looking, the same on every run (so a
  range's bytes depend on its keys alone), and never a real key's suffix, since a key
  holds no NUL byte (short of a SHA-256 collision). A client looks for its own suffix and
  can ignore the rest. A file holds a multiple of ``PAD_BLOCK`` lines, at least one block,
  so its size says little about how many keys it holds.
- A prefix with no key shares one file, ``ranges/empty`` (padding only): a registry of a
  few hundred exclusions writes a few hundred files, not 4,096.
- The manifest is a signed note by the log's key: ``<origin>/ranges``, the checkpoint's size
  and base64 root, a format line, then ``<prefix> <where> <sha256 of the file>`` for every
  prefix, ``<where>`` being the size of the checkpoint whose folder holds the file, or
  ``-`` for ``ranges/empty``. It binds each range file to the signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re

PREFIX_HEX = 3
PREFIXES = 16**PREFIX_HEX
PAD_BLOCK = 32
FORMAT_LINE = f"sha256 prefix={PREFIX_HEX} block={PAD_BLOCK}"
_PAD_TAG = b"optout-range-padding\x00"
_LINE = re.compile(rf"^([0-9a-f]{{{PREFIX_HEX}}}) (-|0|[1-9][0-9]{{0,18}}) ([0-9a-f]{{64}})$")
EMPTY = -1  # where an empty range's file is: ``ranges/empty``
REPOSITORY, NAMESPACE = "repository", "namespace"


class RangeError(ValueError):
    """A range file or manifest that does not parse or verify; the message says why."""


def key_for(kind: str, subject: str) -> str:
    return f"{subject}/*" if kind == NAMESPACE else subject


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lookup_keys(repository: str) -> list[str]:
    """The keys that exclude a canonical ``host/owner/…/name``: itself and each enclosing
    namespace (``host/owner/*``, ``host/owner/sub/*`` …)."""
    parts = repository.split("/")
    return [repository] + ["/".join(parts[:end]) + "/*" for end in range(2, len(parts))]


def prefix_name(index: int) -> str:
    return f"{index:0{PREFIX_HEX}x}"


@functools.cache  # a pure function of i; a file never holds more than a few hundred lines
def padding(i: int) -> str:
    return hashlib.sha256(_PAD_TAG + str(i).encode()).hexdigest()[PREFIX_HEX:]


def padded_length(real: int) -> int:
    return max(PAD_BLOCK, -(-real // PAD_BLOCK) * PAD_BLOCK)


def range_file(suffixes: set[str]) -> bytes:
    lines = set(suffixes)
    i = 0
    while len(lines) < padded_length(len(suffixes)):
        lines.add(padding(i))
        i += 1
    return "".join(f"{line}\n" for line in sorted(lines)).encode()


def real_suffixes(data: bytes) -> set[str]:
    """The suffixes of a range file without its padding (the writer's incremental step)."""
    lines = set(data.decode().split())
    return lines - {padding(i) for i in range(len(lines))}


EMPTY_FILE = range_file(set())


def manifest_text(origin: str, size: int, root: bytes, files: dict[str, tuple[int, str]]) -> str:
    header = [f"{origin}/ranges", str(size), base64.b64encode(root).decode(), FORMAT_LINE]
    body = [
        f"{p} {'-' if where == EMPTY else where} {digest}"
        for p, (where, digest) in sorted(files.items())
    ]
    return "\n".join(header + body) + "\n"


def parse_manifest(text: str, *, origin: str) -> tuple[int, bytes, dict[str, tuple[int, str]]]:
    """``(size, root, {prefix: (size written, sha256)})`` of a verified manifest's text."""
    lines = text.split("\n")
    if len(lines) != 4 + PREFIXES + 1 or lines[-1] != "":
        raise RangeError(f"A range manifest has 4 header lines and {PREFIXES} prefix lines.")
    if lines[0] != f"{origin}/ranges":
        raise RangeError(f"The manifest is for {lines[0]!r}, not {origin!r}'s ranges.")
    if lines[3] != FORMAT_LINE:
        raise RangeError(f"Unknown range format {lines[3]!r} (this client reads {FORMAT_LINE}).")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error):
        raise RangeError("The manifest's size or root does not parse.") from None
    files: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(lines[4:-1]):
        match = _LINE.match(line)
        where = EMPTY if match and match.group(2) == "-" else int(match.group(2)) if match else 0
        if not match or match.group(1) != prefix_name(index) or where > size:
            raise RangeError(f"Manifest line {index + 5} is malformed: {line[:80]!r}.")
        files[match.group(1)] = (where, match.group(3))
    return size, root, files


def file_path(prefix: str, where: int) -> str:
    return "ranges/empty" if where == EMPTY else f"ranges/{where}/{prefix}"


def manifest_path(size: int) -> str:
    return f"ranges/{size}/manifest"


LATEST = "ranges/latest"
