"""``manage.py release <dataset>``: start a release and show its progress until it ends."""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import ReleaseError, release_start
from governance.selectors import release_progress
from registry.threads import side_threads

BAR_WIDTH = 30


def progress_line(progress: dict[str, object]) -> str:
    total = int(progress["rows_total"] or 0)
    done = int(progress["rows_done"] or 0)
    filled = int(BAR_WIDTH * done / total) if total else 0
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return (
        f"{progress['label']} [{bar}] shards {progress['shards_done']}/{progress['shards_total']}"
        f" ({progress['shards_reused']} reused), rows {done}/{total}, {progress['step']}"
    )


class Command(BaseCommand):
    help = "Release a new version of a dataset now, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="The dataset's name.")
        parser.add_argument(
            "--no-wait", action="store_true", help="Queue the release and return at once."
        )
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between updates.")

    def handle(self, *args, dataset: str, no_wait: bool, interval: float, **options) -> None:
        found = Dataset.objects.filter(name=dataset).first()
        if found is None:
            names = ", ".join(Dataset.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"No dataset named {dataset!r}. Datasets: {names or 'none'}.")
        if no_wait:
            version = self._start(found)
            self.stdout.write(f"Queued {version.label}.")
            return
        # In the embedded mode the release runs inside release_start, in this thread, so
        # a side thread draws the bar; with a worker, that thread just watches the rows.
        started, finished = threading.Event(), threading.Event()
        holder: dict[str, int] = {}
        with side_threads("release-progress") as side:
            side(self._watch, holder, started, finished, interval)
            try:
                version = self._start(found)
                holder["id"] = version.id
                started.set()
                while version.status == VersionStatus.BUILDING:
                    time.sleep(interval)
                    version.refresh_from_db()
            finally:
                started.set()
                finished.set()
        self._draw(release_progress(version), final=True)
        if version.status == VersionStatus.PUBLISHED:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Published {version.label}: {version.rows_out} rows, "
                    f"manifest sha256 {version.manifest_sha256}."
                )
            )
        else:
            raise CommandError(f"{version.label} failed: {version.error}")

    def _start(self, dataset: Dataset) -> DatasetVersion:
        try:
            return release_start(dataset_id=dataset.id, triggered_by="manage.py release")
        except ReleaseError as exc:
            raise CommandError(str(exc)) from exc

    def _watch(self, holder, started, finished, interval) -> None:
        started.wait()
        while not finished.is_set():
            version = DatasetVersion.objects.filter(id=holder.get("id")).first()
            if version is not None:
                self._draw(release_progress(version))
            finished.wait(interval)

    def _draw(self, progress: dict[str, object], *, final: bool = False) -> None:
        line = progress_line(progress)
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="\n" if final else "")
            self.stdout.flush()
        elif final:
            self.stdout.write(line)
