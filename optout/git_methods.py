"""The two verification methods that need no account: both read the forge over git.

- ``RepositoryFileMethod``: ``.dataset-optout`` holding the token at the root of the
  default branch, read over git smart HTTP (any git host).
- ``NamespaceRepositoryMethod``: a repository ``dataset-optout-<token>`` exists in the
  namespace (``git ls-remote``). Proves a namespace, and every repository under it.
"""

from __future__ import annotations

from optout.enums import VerificationMethod
from optout.gitsmart import GitError, advertised_refs, read_file_at_head
from optout.outbound import OutboundError, OutboundRefused
from optout.proofs import Proof
from registry.enums import ExclusionKind
from registry.forges import forges
from registry.identifiers import Identifier

TOKEN_FILE = ".dataset-optout"  # noqa: S105 (a file name, not a secret)
PROOF_REPOSITORY_PREFIX = "dataset-optout-"


def _unreachable(identifier: Identifier, exc: Exception) -> Proof:
    return Proof(False, f"Could not read {identifier.canonical}: {exc}", {"error": str(exc)})


class RepositoryFileMethod:
    method = VerificationMethod.REPOSITORY_FILE

    def applies_to(self, identifier: Identifier) -> bool:
        return identifier.kind == ExclusionKind.REPOSITORY

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        forge = forges()[identifier.host]
        try:
            found = read_file_at_head(forge, identifier.path, TOKEN_FILE)
        except (GitError, OutboundError, OutboundRefused) as exc:
            return _unreachable(identifier, exc)
        branch = (found.branch or "HEAD").removeprefix("refs/heads/")
        evidence = {"fetches": found.evidence, "branch": branch, "commit": found.commit}
        where = f"the default branch ({branch}, commit {found.commit[:10]})"
        if found.content is None:
            return Proof(
                False,
                f"{where} of {identifier.canonical} has no {TOKEN_FILE} file at its root. "
                f"Commit one containing {token} and check again.",
                evidence,
            )
        lines = {line.strip() for line in found.content.decode(errors="replace").splitlines()}
        if token not in lines:
            return Proof(
                False,
                f"The {TOKEN_FILE} file on {where} of {identifier.canonical} does not contain "
                f"this request's token {token}. Put the token on a line of its own.",
                evidence,
            )
        message = f"Found {TOKEN_FILE} with the token on {where} of {identifier.canonical}."
        return Proof(True, message, evidence)


class NamespaceRepositoryMethod:
    method = VerificationMethod.NAMESPACE_REPOSITORY

    def applies_to(self, identifier: Identifier) -> bool:
        return True  # a proven namespace also proves every repository in it

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        namespace = identifier.namespace_path
        key = (identifier.host, namespace)
        if key not in memo:  # several subjects in one namespace: ask the forge once
            memo[key] = self._check_namespace(identifier.host, namespace, token)
        return memo[key]

    def _check_namespace(self, host: str, namespace: str, token: str) -> Proof:
        forge = forges()[host]
        proof_repository = f"{namespace}/{PROOF_REPOSITORY_PREFIX}{token}"
        try:
            found = advertised_refs(forge, proof_repository)
        except GitError as exc:
            return Proof(
                False,
                f"No repository {host}/{proof_repository} ({exc}) Create it (it may be empty) "
                "and check again.",
                {"repository": f"{host}/{proof_repository}", "error": str(exc)},
            )
        except (OutboundError, OutboundRefused) as exc:
            return Proof(False, f"Could not reach {host}: {exc}", {"error": str(exc)})
        return Proof(
            True,
            f"Found the proof repository {host}/{proof_repository}.",
            {"repository": f"{host}/{proof_repository}", "fetches": [found.fetched.evidence()]},
        )
