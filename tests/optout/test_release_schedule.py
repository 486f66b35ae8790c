"""The next release date on the owner's pages, read through governance's selector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.models import Dataset
from optout.release_schedule import UNSCHEDULED, NextRelease, expected_next_release

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_without_a_scheduled_dataset_the_release_is_when_maintainers_run_one() -> None:
    assert expected_next_release(now=NOW) == NextRelease(None, UNSCHEDULED)


def test_a_dataset_with_a_cadence_gives_the_date() -> None:
    Dataset.objects.create(
        name="weekly", source_uri="/src", output_uri="/out", release_cadence=timedelta(days=7)
    )
    # No version yet: the first scheduled release may start now.
    assert expected_next_release(now=NOW) == NextRelease(NOW, "expected from 2026-11-25 12:00 UTC")
