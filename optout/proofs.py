"""The interface every verification method implements, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from optout.enums import VerificationMethod
from registry.identifiers import Identifier


@dataclass
class Proof:
    succeeded: bool
    message: str  # shown to the owner
    evidence: dict[str, object] = field(default_factory=dict)  # what was fetched, ids, commit


class Method(Protocol):
    method: VerificationMethod

    def applies_to(self, identifier: Identifier) -> bool: ...

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof: ...
