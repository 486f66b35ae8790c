"""Schemathesis over every dataset operation (datasets, versions, lookups, changelogs,
verifications, the transparency figures), with every check, anonymous and with a pipeline
token (tests/api_contract.py); and every API operation is in one of the apps' runs."""

from __future__ import annotations

import re

import pytest

from governance.demo_data import ShardSpec
from governance.releases import release_start
from tests.api_contract import (
    CALLERS,
    PATHS,
    SETTINGS,
    api_state,  # noqa: F401 (a fixture)
    call_and_validate,
    schema,
)
from tests.factories import make_dataset

CALLERS_HERE = ["anonymous", "pipeline token with every scope"]


@pytest.fixture
def published(api_state, tmp_path, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    """The dataset "demo" with version 1.0.0 published (the schema's examples name them)."""
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(tmp_path, spec=ShardSpec(shards=1, rows_per_shard=50, owners=5))
        release_start(dataset_id=dataset.id)


@pytest.mark.parametrize("caller", CALLERS_HERE)
@schema.include(path_regex=PATHS["governance"]).parametrize()
@SETTINGS
def test_every_dataset_operation_keeps_its_schema(case, caller, published) -> None:
    call_and_validate(case, CALLERS[caller])


def test_every_api_operation_is_in_one_apps_run() -> None:
    paths = [result.ok().path for result in schema.get_all_operations()]
    runs = {path: [app for app, regex in PATHS.items() if re.search(regex, path)] for path in paths}
    assert {path: apps for path, apps in runs.items() if len(apps) != 1} == {}
    assert len(paths) == 25
