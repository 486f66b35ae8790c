"""What is left of the registry's former cache epoch, until its last two importers drop it.

No request reads a per-process copy of anything any more: the single check, the export's
304 and token lookups ask PostgreSQL each time. ``registry.log`` still calls ``epoch_bump``
after an append and ``registry.checkpoints`` still builds an ``EpochCache`` that nothing
reads; both modules belong to other work in progress. Delete this module with those uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


def epoch_bump() -> None:
    """Nothing reads an epoch any more (see the module's docstring)."""


class EpochCache(Generic[Value]):
    """A pass-through: every ``get`` loads from the database."""

    def __init__(self, load: Callable[[Hashable], Value | None], *, max_entries: int = 1) -> None:
        self._load = load

    def get(self, key: Hashable, *, epoch: str) -> Value | None:
        return self._load(key)
