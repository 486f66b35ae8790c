"""The transparency log as a hypothesis state machine, on PostgreSQL through the registry's
services: any sequence of adds, removes and signed checkpoints (on every change, or every so
often: ``LOG_CHECKPOINT_INTERVAL``) keeps every earlier signed checkpoint provable. For each
checkpoint a client held, the signature verifies, every entry it covers has an inclusion
proof to its root, and the current tree has a consistency proof from it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from registry import log, merkle, notes
from registry.checkpoints import checkpoint_latest, checkpoint_publish, verifier_key
from registry.enums import ExclusionKind
from registry.models import LogEntry
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_remove

pytestmark = pytest.mark.django_db

SUBJECTS = [(ExclusionKind.REPOSITORY, f"github.com/octo/r{i}") for i in range(4)] + [
    (ExclusionKind.NAMESPACE, "github.com/team")
]


class LogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._scenario = transaction.atomic()  # each run starts from an empty log
        self._scenario.__enter__()
        self.key = notes.parse_verifier_key(verifier_key())
        self.held: list[tuple[int, bytes]] = []  # (size, root) of checkpoints a client kept

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._scenario.__exit__(None, None, None)

    @rule(subject=st.sampled_from(SUBJECTS))
    def add(self, subject) -> None:
        exclusion_add(kind=subject[0], subject=subject[1], cause="machine")

    @rule(subject=st.sampled_from(SUBJECTS))
    def remove(self, subject) -> None:
        exclusion_remove(kind=subject[0], subject=subject[1], cause="machine", reason="back")

    @rule(every_change=st.booleans())
    def set_checkpoint_interval(self, every_change: bool) -> None:
        settings.LOG_CHECKPOINT_INTERVAL = 0 if every_change else 3600

    @rule()
    def sign_now(self) -> None:
        checkpoint_publish(size=log_size(), force=True)

    @rule()
    def client_keeps_the_latest_checkpoint(self) -> None:
        note = checkpoint_latest().note
        text = notes.verify_note(note, self.key)  # raises unless signed by the log's key
        parsed = notes.parse_checkpoint(text, origin=settings.LOG_NAME)
        self.held.append((parsed.size, parsed.root_hash))

    @invariant()
    def every_held_checkpoint_stays_provable(self) -> None:
        current = log_size()
        root_now = log.root_at(current, current=current)
        leaves = dict(LogEntry.objects.values_list("index", "leaf"))
        for size, root in self.held:
            merkle.verify_consistency(
                first=size,
                second=current,
                first_root=root,
                second_root=root_now,
                proof=log.consistency_proof(size, current, current=current),
            )
            for index in range(size):
                merkle.verify_inclusion(
                    index=index,
                    size=size,
                    leaf=merkle.leaf_hash(leaves[index].encode()),
                    proof=log.inclusion_proof(index, size, current=current),
                    root=root,
                )

    @invariant()
    def the_root_is_the_merkle_root_of_the_leaves(self) -> None:
        texts = LogEntry.objects.order_by("index").values_list("leaf", flat=True)
        hashes = [merkle.leaf_hash(text.encode()) for text in texts]
        assert log.root_at(len(hashes), current=log_size()) == merkle.merkle_root(hashes)


def test_any_appends_and_checkpoints_keep_every_earlier_checkpoint_provable(settings) -> None:
    settings.LOG_CHECKPOINT_INTERVAL = 0
    run_state_machine_as_test(
        LogMachine,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
