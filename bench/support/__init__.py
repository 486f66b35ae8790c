"""What the benchmarks share (a package, so ``make bench`` does not run it as a script)."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names if it is missing (a fresh machine)."""
    import psycopg2

    base, name = url.rsplit("/", 1)
    admin = psycopg2.connect(base + "/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
