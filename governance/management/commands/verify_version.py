"""``manage.py verify_version <dataset> <version>``: re-hash and prove no exclusion remains."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import DatasetVersion
from governance.releases.verify import version_verify


class Command(BaseCommand):
    help = (
        "Re-hash every file of a published version and check that no repository excluded "
        "at its checkpoint remains. Exits non-zero, listing problems and offending rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset")
        parser.add_argument("version", help="e.g. 1.0.3")

    def handle(self, *args, dataset: str, version: str, **options) -> None:
        found = (
            DatasetVersion.objects.select_related("dataset")
            .filter(dataset__name=dataset, version=version)
            .first()
        )
        if found is None:
            raise CommandError(
                f"No version {version!r} of dataset {dataset!r}. List them with "
                f"GET /api/v1/datasets/{dataset}/versions/."
            )
        report = version_verify(version=found)
        for problem in report.problems:
            self.stderr.write(f"problem: {problem}")
        for row in report.offending:
            self.stderr.write(
                f"excluded row: {row.path} row {row.row} repository {row.repository} "
                f"(excluded by {row.exclusion})"
            )
        if not report.ok:
            raise CommandError(
                f"{found.label} failed verification: {len(report.problems)} problems, "
                f"{report.offending_count} excluded rows."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{found.label} verified: {report.files_checked} files re-hashed, "
                f"{report.rows_checked} rows checked, no excluded repository."
            )
        )
