"""Stand-alone pipeline client for the exclusion registry. It fails closed.

No Django: the standard library and ``cryptography`` only, plus the registry's pure
modules ``registry/merkle.py``, ``registry/notes.py``, ``registry/tlog_tiles.py``,
``registry/ranges_format.py`` and ``registry/receipts_format.py`` (copy the six files
together to use the client elsewhere).
Run it as::

    python -m registry.client sync --url https://portal.example --token KEY \\
        --state-dir ./optout-state [--key 'name+keyid+base64key']
    python -m registry.client sync --tiles https://mirror.example/log --state-dir …
    python -m registry.client check --state-dir ./optout-state owner/name host/owner/name …
    python -m registry.client check --private https://portal.example/mirror --key … owner/name
    python -m registry.client keygen --name acme-2026 --out acme.key
    python -m registry.client ack --url … --token … --state-dir … --user acme \\
        --dataset acme-code [--manifest FILE] --signing-key acme.key

``sync`` fetches the signed checkpoint, checks its signature against the pinned verifier
key, checks the consistency proof from the checkpoint it trusted last, fetches the new log
entries, recomputes the Merkle root from them (so a rewritten entry is caught) and only
then writes the new exclusion list and checkpoint, atomically: the state directory's
``current`` link is switched to a complete new snapshot in one ``rename``. On a bad
signature, an inconsistent or forked log, a rewritten entry or a network error it exits
non-zero, says why, and leaves the state untouched. ``--tiles`` reads the same log from
a static copy in the C2SP tlog-tiles layout (no API, no token) with the same checks, the
consistency proof computed from the tiles.

``check`` answers from the last synced state, offline; ``check --private`` answers from a
mirror's signed range files, sending only 3-hex-character hash prefixes. Exit codes:
``sync`` 0 done, 1 refused (verification failed), 2 error (network, usage); ``check`` 0
none excluded, 1 at least one excluded, 2 error or refused.

Snapshot files: ``checkpoint`` (the signed note), ``key`` (the verifier key),
``tree.json`` (size and frontier hashes), ``exclusions.tsv`` (``kind<TAB>subject``, sorted).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from registry import merkle, notes, ranges_format, receipts_format, tlog_tiles

PAGE = 10_000
REPOSITORY, NAMESPACE = "repository", "namespace"
CASE_INSENSITIVE_HOSTS = {"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"}
DEFAULT_HOST = "github.com"


class Refused(Exception):
    """The server's answer does not verify: the log is forked, tampered or mis-signed."""


class ClientError(Exception):
    """The sync could not be done (network, usage, local state)."""


@dataclass
class State:
    key: notes.VerifierKey
    note: str
    size: int
    root: bytes
    frontier: list[bytes]
    exclusions: set[tuple[str, str]] = field(default_factory=set)


# --- state on disk ----------------------------------------------------------------------


def load_state(state_dir: Path) -> State | None:
    current = state_dir / "current"
    if not current.exists():
        return None
    try:
        key = notes.parse_verifier_key((current / "key").read_text())
        note = (current / "checkpoint").read_text()
        tree = json.loads((current / "tree.json").read_text())
        lines = (current / "exclusions.tsv").read_text().splitlines()
    except (OSError, ValueError) as exc:
        raise ClientError(f"The state in {current} is unreadable ({exc}); sync afresh.") from None
    try:
        checkpoint = notes.verify_checkpoint(note, key)
    except notes.NoteError as exc:
        raise ClientError(f"The stored checkpoint no longer verifies: {exc}") from None
    frontier = [base64.b64decode(h) for h in tree["frontier"]]
    if tree["size"] != checkpoint.size or merkle.frontier_root(frontier) != checkpoint.root_hash:
        raise ClientError(f"The state in {current} is inconsistent; sync into a new directory.")
    exclusions = {tuple(line.split("\t", 1)) for line in lines if line}
    return State(key, note, checkpoint.size, checkpoint.root_hash, frontier, exclusions)  # type: ignore[arg-type]


def save_state(state_dir: Path, state: State) -> Path:
    """Write a complete snapshot, then switch ``current`` to it with one atomic rename."""
    snapshots = state_dir / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    snapshot = snapshots / f"{state.size}-{secrets.token_hex(4)}"
    snapshot.mkdir()
    tree = {"size": state.size, "frontier": [base64.b64encode(h).decode() for h in state.frontier]}
    files = {
        "key": str(state.key) + "\n",
        "checkpoint": state.note,
        "tree.json": json.dumps(tree),
        "exclusions.tsv": "".join(f"{k}\t{s}\n" for k, s in sorted(state.exclusions)),
    }
    for name, text in files.items():
        with open(snapshot / name, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    previous = (state_dir / "current").resolve() if (state_dir / "current").exists() else None
    link = state_dir / f".current-{secrets.token_hex(4)}"
    os.symlink(Path("snapshots") / snapshot.name, link)
    os.replace(link, state_dir / "current")
    if previous is not None and previous != snapshot.resolve():
        shutil.rmtree(previous, ignore_errors=True)
    return snapshot


# --- talking to the server --------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a redirect with every header, the token included, to any host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise ClientError(
            f"The server redirected ({code}) to {newurl}. The client follows no redirects, so "
            "the token never travels to another address: give the final address as --url."
        )


_OPENER = urllib.request.build_opener(_NoRedirects)


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class Server:
    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if not (parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))):
            raise ClientError(
                f"--url {url!r} must start with https:// (http:// only on loopback: the token "
                "and the list would cross the network in clear)."
            )
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def under(self, folder: str) -> Server:
        return Server(f"{self.url}/{folder}", self.token, self.timeout)

    def get(self, path: str, **params: object) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(f"{self.url}{path}{query}")  # noqa: S310 (scheme checked)
        if self.token:
            request.add_header("Authorization", f"Api-Key {self.token}")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise ClientError(f"GET {path} answered {exc.code}: {exc.read()[:300]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ClientError(f"GET {path} failed: {exc}") from None

    def post(self, path: str, body: bytes, content_type: str) -> bytes:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Api-Key {self.token}")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise ClientError(f"POST {path} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ClientError(f"POST {path} failed: {exc}") from None

    def get_json(self, path: str, **params: object) -> dict:
        try:
            return json.loads(self.get(path, **params))
        except ValueError:
            raise ClientError(f"GET {path} did not return JSON.") from None


def _hashes(values: Iterable[str]) -> list[bytes]:
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (ValueError, TypeError):
        raise Refused("A proof hash is not valid base64.") from None


def _apply(exclusions: set[tuple[str, str]], index: int, leaf: str) -> None:
    fields = leaf.split("\t")
    if len(fields) != 6 or fields[0] != str(index):
        raise Refused(f"Log entry {index} is not a well-formed leaf: {leaf!r}.")
    action, kind, subject = fields[1], fields[2], fields[3]
    if kind not in (REPOSITORY, NAMESPACE) or action not in ("add", "remove"):
        raise Refused(f"Log entry {index} has an unknown action or kind: {leaf!r}.")
    if action == "add":
        exclusions.add((kind, subject))
    else:
        exclusions.discard((kind, subject))


def _parse_key(text: str) -> notes.VerifierKey:
    try:
        return notes.parse_verifier_key(text)
    except notes.NoteError as exc:
        raise ClientError(f"--key: {exc}") from None


def _trusted_start(state_dir: Path, pinned_key: str | None) -> State:
    old = load_state(state_dir)
    if old is None:
        if not pinned_key:
            raise ClientError("First sync: pass --key with the log's verifier key to pin it.")
        return State(_parse_key(pinned_key), "", 0, merkle.EMPTY_ROOT, [], set())
    if pinned_key and notes.parse_verifier_key(pinned_key) != old.key:
        raise Refused("--key differs from the key pinned in the state directory.")
    return old


def _verified_checkpoint(note: str, old: State) -> notes.ParsedCheckpoint:
    try:
        new = notes.verify_checkpoint(note, old.key)
    except notes.NoteError as exc:
        raise Refused(f"The checkpoint does not verify: {exc}") from None
    if new.size < old.size:
        raise Refused(f"The log shrank from {old.size} to {new.size} entries: it was rolled back.")
    if new.size == old.size and new.root_hash != old.root:
        raise Refused(f"Two different roots for size {new.size}: the log forked.")
    return new


def _check_consistency(old: State, new: notes.ParsedCheckpoint, proof: list[bytes]) -> None:
    try:
        merkle.verify_consistency(
            first=old.size,
            second=new.size,
            first_root=old.root,
            second_root=new.root_hash,
            proof=proof,
        )
    except merkle.ProofError as exc:
        raise Refused(f"Inconsistent with the checkpoint trusted last: {exc}") from None


def _extend(
    old: State, new: notes.ParsedCheckpoint, note: str, leaves: Iterable[tuple[int, str]]
) -> State:
    """Apply the entries ``[old.size, new.size)`` and check they hash to the signed root."""
    frontier, exclusions, index = list(old.frontier), set(old.exclusions), old.size
    for position, leaf in leaves:
        if position != index:
            raise Refused(f"Expected log entry {index}, got entry {position}.")
        frontier, _ = merkle.frontier_append(frontier, index, merkle.leaf_hash(leaf.encode()))
        _apply(exclusions, index, leaf)
        index += 1
        if index == new.size:
            break
    if index != new.size:
        raise ClientError(f"The server returned entries up to {index}, not {new.size}.")
    if merkle.frontier_root(frontier) != new.root_hash:
        raise Refused("The entries served do not hash to the signed root: an entry was rewritten.")
    return State(old.key, note, new.size, new.root_hash, frontier, exclusions)


def _api_leaves(server: Server, start: int, end: int) -> Iterator[tuple[int, str]]:
    index = start
    while index < end:
        page = server.get_json("/api/v1/log/entries", start=index, end=end)
        entries = page.get("entries") or []
        if not entries:
            raise ClientError(f"The server returned no entries from {index}.")
        for entry in entries:
            if entry.get("index") != index or not isinstance(entry.get("leaf"), str):
                raise Refused(f"Expected log entry {index}, got {str(entry)[:200]}.")
            yield index, entry["leaf"]
            index += 1
            if index == end:
                return


def sync(server: Server, state_dir: Path, pinned_key: str | None) -> tuple[State, int]:
    """Bring the state up to the server's signed checkpoint; return it and entries applied."""
    old = _trusted_start(state_dir, pinned_key)
    note = server.get("/api/v1/log/checkpoint").decode("utf-8", "replace")
    new = _verified_checkpoint(note, old)
    if new.size == old.size:
        return old, 0
    if old.size > 0:
        proof = server.get_json("/api/v1/log/proof/consistency", first=old.size, second=new.size)
        _check_consistency(old, new, _hashes(proof.get("hashes", [])))
    state = _extend(old, new, note, _api_leaves(server, old.size, new.size))
    save_state(state_dir, state)
    return state, new.size - old.size


def _tile_fetcher(mirror: Server) -> Callable[[str], bytes]:
    def fetch(path: str) -> bytes:
        return mirror.get(f"/{path}")

    return fetch


def _tile_leaves(mirror: Server, start: int, end: int) -> Iterator[tuple[int, str]]:
    for n in range(start // tlog_tiles.TILE_WIDTH, (end - 1) // tlog_tiles.TILE_WIDTH + 1):
        width = tlog_tiles.tile_width(end, 0, n)
        try:
            leaves = tlog_tiles.decode_bundle(mirror.get(f"/{tlog_tiles.bundle_path(n, width)}"))
        except ValueError as exc:
            raise Refused(f"Entry bundle {n} is malformed: {exc}") from None
        if len(leaves) != width:
            raise Refused(f"Entry bundle {n} holds {len(leaves)} entries, not {width}.")
        for offset, leaf in enumerate(leaves):
            index = n * tlog_tiles.TILE_WIDTH + offset
            if index >= start:
                yield index, leaf.decode("utf-8", "replace")


def sync_tiles(mirror: Server, state_dir: Path, pinned_key: str | None) -> tuple[State, int]:
    """``sync`` from a static copy of the log in the C2SP tlog-tiles layout (no API).

    The same checks: the checkpoint's signature, no rollback, no fork, a consistency proof
    from the trusted checkpoint (computed from the tiles), and the entries hashed again.
    """
    old = _trusted_start(state_dir, pinned_key)
    note = mirror.get("/checkpoint").decode("utf-8", "replace")
    new = _verified_checkpoint(note, old)
    if new.size == old.size:
        return old, 0
    reader = tlog_tiles.TileReader(new.size, _tile_fetcher(mirror))
    try:
        if reader.root() != new.root_hash:
            raise Refused("The tiles do not hash to the signed root: a tile was changed.")
        proof = reader.consistency_proof(old.size) if old.size else []
    except ValueError as exc:
        raise Refused(f"A tile is malformed: {exc}") from None
    if old.size > 0:
        _check_consistency(old, new, proof)
    state = _extend(old, new, note, _tile_leaves(mirror, old.size, new.size))
    save_state(state_dir, state)
    return state, new.size - old.size


# --- checking ---------------------------------------------------------------------------


def canonical(text: str) -> str:
    """A light normaliser for ids already close to canonical (the server's parser is
    the authority): strips a scheme, ``.git`` and slashes, adds the default host, and
    folds case on the case-insensitive forges."""
    value = text.strip()
    for prefix in ("https://", "http://"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    value = value.strip("/").removesuffix(".git")
    parts = value.split("/")
    if "." not in parts[0]:
        parts = [DEFAULT_HOST, *parts]
    parts[0] = parts[0].lower()
    if len(parts) < 3 or any(not p for p in parts):
        raise ClientError(f"{text!r} is not a repository (host/owner/name or owner/name).")
    result = "/".join(parts)
    return result.lower() if parts[0] in CASE_INSENSITIVE_HOSTS else result


def excluded_by(repo: str, exclusions: set[tuple[str, str]]) -> tuple[str, str] | None:
    if (REPOSITORY, repo) in exclusions:
        return (REPOSITORY, repo)
    parts = repo.split("/")
    for end in range(2, len(parts)):
        namespace = "/".join(parts[:end])
        if (NAMESPACE, namespace) in exclusions:
            return (NAMESPACE, namespace)
    return None


# --- private lookups (range files) -------------------------------------------------------


class PrivateLookup:
    """Answers checks from a mirror's range files: only hash prefixes leave this process.

    The manifest must be signed by the pinned key. With a synced state it must also be the
    trusted checkpoint or extend it (a consistency proof computed from the mirror's tiles),
    so a mirror cannot answer from an older or forked registry. Each range file must hash
    to the manifest's value.
    """

    def __init__(self, mirror: Server, key: notes.VerifierKey, trusted: State | None) -> None:
        self.mirror = mirror
        self.key = key
        latest = mirror.get(f"/{ranges_format.LATEST}").decode("ascii", "replace").strip()
        if not latest.isdigit():
            raise ClientError(f"{ranges_format.LATEST} holds {latest[:40]!r}, not a log size.")
        note = mirror.get(f"/{ranges_format.manifest_path(int(latest))}").decode("utf-8", "replace")
        try:
            text = notes.verify_note(note, key)
            self.size, root, self.files = ranges_format.parse_manifest(text, origin=key.name)
        except (notes.NoteError, ranges_format.RangeError) as exc:
            raise Refused(f"The range manifest does not verify: {exc}") from None
        if self.size != int(latest):
            raise Refused(f"The manifest is for size {self.size}, not {latest}.")
        if trusted is not None:
            signed = notes.ParsedCheckpoint(key.name, self.size, root)
            self._bind(trusted, signed)
        self._ranges: dict[str, set[str]] = {}

    def _bind(self, trusted: State, signed: notes.ParsedCheckpoint) -> None:
        if signed.size < trusted.size:
            raise Refused(
                f"The ranges are of size {signed.size}, older than the trusted {trusted.size}."
            )
        if signed.size == trusted.size:
            if signed.root_hash != trusted.root:
                raise Refused(f"Two different roots for size {signed.size}: the log forked.")
            return
        reader = tlog_tiles.TileReader(signed.size, _tile_fetcher(self.mirror.under("log")))
        try:
            proof = reader.consistency_proof(trusted.size)
        except ValueError as exc:
            raise Refused(f"A tile is malformed: {exc}") from None
        _check_consistency(trusted, signed, proof)

    def _range(self, prefix: str) -> set[str]:
        if prefix not in self._ranges:
            written, digest = self.files[prefix]
            data = self.mirror.get(f"/{ranges_format.file_path(prefix, written)}")
            if hashlib.sha256(data).hexdigest() != digest:
                raise Refused(f"Range file {prefix} does not match the signed manifest.")
            self._ranges[prefix] = set(data.decode("ascii", "replace").split())
        return self._ranges[prefix]

    def excluded_by(self, repo: str) -> tuple[str, str] | None:
        for key in ranges_format.lookup_keys(repo):
            digest = ranges_format.key_hash(key)
            if digest[ranges_format.PREFIX_HEX :] in self._range(
                digest[: ranges_format.PREFIX_HEX]
            ):
                if key.endswith("/*"):
                    return (NAMESPACE, key[:-2])
                return (REPOSITORY, key)
        return None


# --- receipts -------------------------------------------------------------------------------


def keygen(name: str, out: Path) -> notes.VerifierKey:
    """A new Ed25519 signing key for receipts: ``out`` holds the key name and the base64
    seed (created 0600, never overwritten); returns the verifier key to register."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    if not name or any(c.isspace() or c == "+" for c in name):
        raise ClientError("--name must be non-empty, without spaces or '+'.")
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ClientError(f"{out} exists; the client never overwrites a signing key.") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{name}\n{base64.b64encode(seed).decode()}\n")
    return notes.verifier_key_for(name, private)


def _load_signing_key(path: Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        name, seed = path.read_text().split()
        return name, Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed, validate=True))
    except (OSError, ValueError) as exc:
        raise ClientError(f"--signing-key {path}: not a key file from keygen ({exc}).") from None


def ack(server: Server, state_dir: Path, *, user: str, dataset: str, manifest: Path | None,
        signing_key: Path) -> dict:  # fmt: skip
    """Sign and post a receipt for the checkpoint the state directory trusts."""
    import datetime as dt

    state = load_state(state_dir)
    if state is None:
        raise ClientError(f"No synced state in {state_dir}; run sync first.")
    digest = ""
    if manifest is not None:
        try:
            digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        except OSError as exc:
            raise ClientError(f"--manifest {manifest}: {exc}") from None
    body = receipts_format.ReceiptBody(
        origin=state.key.name,
        user=user,
        dataset=dataset,
        size=state.size,
        root=state.root,
        manifest_sha256=digest,
        applied_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    text = receipts_format.receipt_text(body)
    try:
        receipts_format.parse_receipt(text, origin=state.key.name)
    except receipts_format.ReceiptError as exc:
        raise ClientError(str(exc)) from None
    name, private = _load_signing_key(signing_key)
    note = notes.sign_note(text, name, private)
    answer = server.post("/api/v1/receipts/", note.encode(), "text/plain; charset=utf-8")
    try:
        return json.loads(answer)
    except ValueError:
        raise ClientError("POST /api/v1/receipts/ did not return JSON.") from None


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m registry.client", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sync_cmd = commands.add_parser("sync", help="Verify and pull the signed exclusion list.")
    source = sync_cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="The portal's base URL.")
    source.add_argument(
        "--tiles", help="A static copy of the log in the tlog-tiles layout (its URL prefix)."
    )
    sync_cmd.add_argument("--token", default=os.environ.get("OPTOUT_TOKEN"))
    sync_cmd.add_argument("--state-dir", required=True, type=Path)
    sync_cmd.add_argument("--key", help="The log's verifier key (required on first sync).")
    sync_cmd.add_argument("--timeout", type=float, default=30.0)
    check_cmd = commands.add_parser("check", help="Check repositories against the synced list.")
    check_cmd.add_argument(
        "--state-dir", type=Path, help="The synced state (required without --private)."
    )
    check_cmd.add_argument(
        "--private",
        metavar="URL",
        help="Check against a mirror's range files instead (e.g. https://portal.example/mirror): "
        "only a 3-hex-character hash prefix per name is sent. The state's checkpoint, if any, "
        "must be the ranges' or an ancestor of it.",
    )
    check_cmd.add_argument("--key", help="The log's verifier key (with --private and no state).")
    check_cmd.add_argument("--timeout", type=float, default=30.0)
    check_cmd.add_argument("repos", nargs="*", help="Repositories; '-' or none reads stdin.")
    keygen_cmd = commands.add_parser("keygen", help="Make a key to sign receipts with.")
    keygen_cmd.add_argument("--name", required=True, help="The key's name (e.g. acme-llm-2026).")
    keygen_cmd.add_argument("--out", required=True, type=Path, help="Where to write the key.")
    ack_cmd = commands.add_parser(
        "ack", help="Post a signed receipt: the synced checkpoint was applied to a dataset."
    )
    ack_cmd.add_argument("--url", required=True, help="The portal's base URL.")
    ack_cmd.add_argument("--token", default=os.environ.get("OPTOUT_TOKEN"))
    ack_cmd.add_argument("--state-dir", required=True, type=Path)
    ack_cmd.add_argument("--user", required=True, help="Your downstream user name.")
    ack_cmd.add_argument("--dataset", required=True, help="What you applied it to.")
    ack_cmd.add_argument("--manifest", type=Path, help="Your output's manifest (its SHA-256).")
    ack_cmd.add_argument("--signing-key", required=True, type=Path, help="From keygen.")
    ack_cmd.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)

    if args.command in ("keygen", "ack"):
        try:
            if args.command == "keygen":
                print(keygen(args.name, args.out))
                return 0
            answer = ack(
                Server(args.url, args.token, args.timeout),
                args.state_dir,
                user=args.user,
                dataset=args.dataset,
                manifest=args.manifest,
                signing_key=args.signing_key,
            )
        except ClientError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 2
        print(
            f"acknowledged: receipt {answer.get('index')}, checkpoint size "
            f"{answer.get('checkpoint_size')} applied to {answer.get('dataset')}"
        )
        return 0

    if args.command == "sync":
        try:
            if args.tiles:  # a static mirror: no token goes to it
                mirror = Server(args.tiles, None, args.timeout)
                state, applied = sync_tiles(mirror, args.state_dir, args.key)
            else:
                server = Server(args.url, args.token, args.timeout)
                state, applied = sync(server, args.state_dir, args.key)
        except Refused as exc:
            print(f"REFUSED: {exc} The state was left untouched.", file=sys.stderr)
            return 1
        except ClientError as exc:
            print(f"ERROR: {exc} The state was left untouched.", file=sys.stderr)
            return 2
        print(
            f"synced: log size {state.size}, {applied} new entries, "
            f"{len(state.exclusions)} exclusions in force"
        )
        return 0

    try:
        state = load_state(args.state_dir) if args.state_dir else None
        lookup: Callable[[str], tuple[str, str] | None]
        if not args.private and not args.state_dir:
            raise ClientError("check needs --state-dir (a synced state) or --private URL.")
        if args.private:
            if state is None and not args.key:
                raise ClientError("--private needs --key, or a --state-dir synced before.")
            key = state.key if state else _parse_key(args.key)
            private = PrivateLookup(Server(args.private, None, args.timeout), key, state)
            lookup = private.excluded_by
        elif state is None:
            raise ClientError(f"No synced state in {args.state_dir}; run sync first.")
        else:
            exclusions = state.exclusions
            lookup = lambda repo: excluded_by(repo, exclusions)  # noqa: E731
        repos = args.repos if args.repos and args.repos != ["-"] else sys.stdin.read().split()
        any_excluded = False
        for text in repos:
            repo = canonical(text)
            match = lookup(repo)
            any_excluded |= match is not None
            verdict = f"excluded\t{repo}\tby {match[0]} {match[1]}" if match else f"allowed\t{repo}"
            print(verdict)
    except Refused as exc:
        print(f"REFUSED: {exc} No answer was given.", file=sys.stderr)
        return 2
    except ClientError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    return 1 if any_excluded else 0


if __name__ == "__main__":
    sys.exit(main())
