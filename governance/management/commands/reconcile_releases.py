"""``manage.py reconcile_releases``: finish or clean what a crashed release left."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from governance.releases.reconcile import releases_reconcile


class Command(BaseCommand):
    help = "Resume releases idle for longer than --stale-minutes and clean leftover storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-minutes",
            type=int,
            default=30,
            help="Resume a building version idle this long (0: now, when no worker runs it).",
        )

    def handle(self, *args, stale_minutes: int, **options) -> None:
        report = releases_reconcile(stale_after=timedelta(minutes=stale_minutes))
        for label in report.resumed:
            self.stdout.write(f"resumed {label}")
        for label in report.announced:
            self.stdout.write(f"announced {label}")
        for path in report.removed:
            self.stdout.write(f"removed {path}")
        self.stdout.write(
            f"{len(report.resumed)} resumed, {len(report.announced)} announced, "
            f"{len(report.removed)} leftovers removed."
        )
