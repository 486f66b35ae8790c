"""A small git smart-HTTP client (protocol v0, stateless RPC) over the SSRF-safe fetcher.

It does two things: list a repository's refs (``git ls-remote``), and read one small file
from the tip of the default branch with a depth-1 fetch (``git fetch --depth 1``, with a
blob-size filter when the server offers one). The pack is unpacked in memory with
dulwich. Works with any git host, not one forge's API.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, Commit, Tree

from optout.outbound import FetchResult, OutboundError, fetch, forge_url
from registry.forges import Forge

MAX_FILE_BYTES = 4096


class GitError(Exception):
    """The repository could not be read; the message is for the owner."""


@dataclass
class Advertisement:
    refs: dict[str, str]  # ref name → sha
    capabilities: set[str]
    head_ref: str | None  # the default branch, from the symref capability
    fetched: FetchResult

    @property
    def head(self) -> str | None:
        return self.refs.get("HEAD") or (self.refs.get(self.head_ref) if self.head_ref else None)


@dataclass
class FileAtHead:
    branch: str | None
    commit: str
    content: bytes | None  # None when the file is absent
    evidence: list[dict[str, object]] = field(default_factory=list)


def _pkt_lines(data: bytes) -> list[bytes | None]:
    """Split pkt-line framed data; ``None`` stands for a flush (or delimiter) packet."""
    lines: list[bytes | None] = []
    position = 0
    while position < len(data):
        try:
            length = int(data[position : position + 4], 16)
        except ValueError:
            raise GitError("the server's answer is not in the git protocol") from None
        if length < 4:
            lines.append(None)
            position += 4
            continue
        lines.append(data[position + 4 : position + length])
        position += length
    return lines


def _pkt(text: str) -> bytes:
    payload = text.encode()
    return f"{len(payload) + 4:04x}".encode() + payload


def repository_url(forge: Forge, repository_path: str, suffix: str, query: str = "") -> str:
    return forge_url(forge, f"{repository_path}.git/{suffix}", query=query)


def advertised_refs(forge: Forge, repository_path: str) -> Advertisement:
    """What ``git ls-remote`` shows: raises GitError when the repository is not readable."""
    url = repository_url(forge, repository_path, "info/refs", "service=git-upload-pack")
    result = fetch(url, follow_redirects=False)
    if result.status in {301, 302, 303, 307, 308}:
        raise GitError(
            f"{forge.host}/{repository_path} has moved (renamed or transferred); "
            "request the current name instead."
        )
    if result.status in {401, 403, 404}:
        raise GitError(f"{forge.host}/{repository_path} does not exist or is not public.")
    if result.status != 200:
        raise GitError(f"{forge.host} answered {result.status} for {repository_path}.")
    lines = _pkt_lines(result.body)
    if not lines or lines[0] is None or not lines[0].startswith(b"# service=git-upload-pack"):
        raise GitError(f"{forge.host} did not answer as a git server for {repository_path}.")
    refs: dict[str, str] = {}
    capabilities: set[str] = set()
    for line in lines[1:]:
        if line is None:
            continue
        text = line.rstrip(b"\n")
        if b"\0" in text:
            text, caps = text.split(b"\0", 1)
            capabilities = set(caps.decode(errors="replace").split())
        sha, _, name = text.decode(errors="replace").partition(" ")
        if name != "capabilities^{}":
            refs[name] = sha
    head_ref = next(
        (c.split(":", 1)[1] for c in capabilities if c.startswith("symref=HEAD:")), None
    )
    return Advertisement(refs, capabilities, head_ref, result)


def read_file_at_head(forge: Forge, repository_path: str, filename: str) -> FileAtHead:
    """Read ``filename`` at the root of the default branch's tip commit."""
    advertisement = advertised_refs(forge, repository_path)
    evidence = [advertisement.fetched.evidence()]
    head = advertisement.head
    if not head:
        raise GitError(f"{forge.host}/{repository_path} has no commits on its default branch.")
    caps = advertisement.capabilities
    wanted = ["side-band-64k", "ofs-delta", "no-progress"]
    wanted += [c for c in ("shallow", "filter") if c in caps]
    body = _pkt(f"want {head} {' '.join(c for c in wanted if c in caps)}\n")
    if "shallow" in caps:
        body += _pkt("deepen 1\n")
    if "filter" in caps:
        body += _pkt(f"filter blob:limit={MAX_FILE_BYTES}\n")
    body += b"0000" + _pkt("done\n")
    result = fetch(
        repository_url(forge, repository_path, "git-upload-pack"),
        method="POST",
        body=body,
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Accept": "application/x-git-upload-pack-result",
        },
        follow_redirects=False,
    )
    evidence.append(result.evidence())
    if result.status != 200:
        raise GitError(f"{forge.host} answered {result.status} when asked for the files.")
    pack = _pack_from_response(result.body)
    store = MemoryObjectStore()
    try:
        reader = io.BytesIO(pack)
        store.add_thin_pack(reader.read, reader.read)
        commit = store[head.encode()]
    except (KeyError, ValueError, AssertionError, OSError) as exc:
        raise GitError(f"the git data from {forge.host} could not be read ({exc}).") from None
    if not isinstance(commit, Commit):
        raise GitError(f"the default branch of {repository_path} does not point at a commit.")
    tree = store[commit.tree]
    content = None
    if isinstance(tree, Tree) and filename.encode() in tree:
        _, sha = tree[filename.encode()]
        blob = store[sha] if sha in store else None  # noqa: SIM401 (dulwich stores have no get)
        # Present but absent from the pack: larger than the blob filter let through.
        content = blob.as_raw_string() if isinstance(blob, Blob) else b""
    return FileAtHead(advertisement.head_ref, head, content, evidence)


def _pack_from_response(data: bytes) -> bytes:
    pack = bytearray()
    for line in _pkt_lines(data):
        if line is None or not line:
            continue
        if line.startswith((b"shallow ", b"unshallow ", b"NAK", b"ACK")):
            continue
        band, payload = line[0], line[1:]
        if band == 1:
            pack += payload
        elif band == 3:
            raise GitError(f"the git server reported: {payload.decode(errors='replace')[:200]}")
    if not pack.startswith(b"PACK"):
        raise GitError("the git server sent no pack data.")
    return bytes(pack)


__all__ = ["GitError", "OutboundError", "advertised_refs", "read_file_at_head"]
