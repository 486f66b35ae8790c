"""Named steps of a release at which the crash tests make the process exit hard.

``RELEASE_CRASH_AT=<step>`` in the environment makes ``crash_point(<step>)`` call
``os._exit``: no ``finally`` blocks, no transaction rollback handlers, no flushing, as
when a machine loses power or the OOM killer strikes. ``RELEASE_STALL_AT=<step>`` makes
it wait ``STALL_SECONDS`` there instead, holding what the step holds (its database
connection), so that a fault test can strike mid-step however fast the machine is.
Unset, each costs one lookup.
"""

from __future__ import annotations

import os
import time

CRASH_STEPS = (
    "planned",
    "shard_partial",
    "shard_written",
    "shard_recorded",
    "metadata_written",
    "manifest_written",
    "folder_moved",
    "marker_created",
    "db_committed",
)
CRASH_EXIT_CODE = 86
STALL_SECONDS = 0.5


def crash_point(step: str) -> None:
    if os.environ.get("RELEASE_CRASH_AT") == step:
        os._exit(CRASH_EXIT_CODE)
    if os.environ.get("RELEASE_STALL_AT") == step:
        time.sleep(STALL_SECONDS)
