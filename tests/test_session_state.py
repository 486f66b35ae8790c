"""No code keeps state in a database session: production runs behind PgBouncer in transaction
pooling mode, where consecutive transactions of one Django connection may run on different
server connections (CI runs the API tests and the API benchmark through it)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Session-scoped statements (SQL keywords as the code writes them, in capitals); transaction-
# scoped ones (SET LOCAL, pg_advisory_xact_lock) are fine.
SESSION_STATE = re.compile(
    r"""["'(]\s*(PREPARE\s|SET\s+(?!LOCAL\b)\w|LISTEN\s|CREATE\s+TEMP|DECLARE\s+\w+\s+.*WITH\s+HOLD)"""
    r"|pg_advisory_lock|pg_try_advisory_lock\(|set_config\([^)]*false"
)


def test_no_product_code_keeps_state_in_a_database_session() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in ("governance", "optout", "registry")
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SESSION_STATE.search(line)
    ]
    assert found == []


def test_the_scan_finds_what_it_looks_for() -> None:
    for line in [
        'cursor.execute("PREPARE check(text) AS SELECT 1")',
        "cursor.execute('SET plan_cache_mode = force_generic_plan')",
        'cursor.execute("SELECT pg_advisory_lock(1)")',
        'cursor.execute("LISTEN releases")',
        'cursor.execute("CREATE TEMP TABLE wanted (s text)")',
    ]:
        assert SESSION_STATE.search(line), line
    for line in [
        'cursor.execute("SET LOCAL statement_timeout = 1000")',
        "pg_try_advisory_xact_lock(",
    ]:
        assert not SESSION_STATE.search(line), line


def test_querysets_never_hold_a_server_side_cursor_across_transactions(settings) -> None:
    assert settings.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
