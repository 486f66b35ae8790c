"""``manage.py release <dataset>``: start a release and show its progress until it ends."""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import ReleaseError, release_start
from governance.selectors import release_progress

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
        # In the embedded mode the release runs inside release_start, in this thread, so
        # a second thread draws the bar; with a worker, that thread just watches the rows.
        started = threading.Event()
        holder: dict[str, int] = {}
        finished = threading.Event()
        watcher = threading.Thread(
            target=self._watch, args=(found, holder, started, finished, interval), daemon=True
        )
        if not no_wait:
            watcher.start()
        try:
            version = release_start(dataset_id=found.id, triggered_by="manage.py release")
        except ReleaseError as exc:
            finished.set()
            raise CommandError(str(exc)) from exc
        holder["id"] = version.id
        started.set()
        if no_wait:
            self.stdout.write(f"Queued {version.label}.")
            return
        while True:
            version.refresh_from_db()
            if version.status != VersionStatus.BUILDING:
                break
            time.sleep(interval)
        finished.set()
        watcher.join()
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

    def _watch(self, dataset, holder, started, finished, interval) -> None:
        try:
            started.wait()
            while not finished.is_set():
                try:
                    version = DatasetVersion.objects.filter(id=holder.get("id")).first()
                except Exception:
                    version = None
                if version is not None:
                    self._draw(release_progress(version))
                finished.wait(interval)
        finally:
            close_old_connections()

    def _draw(self, progress: dict[str, object], *, final: bool = False) -> None:
        line = progress_line(progress)
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="\n" if final else "")
            self.stdout.flush()
        elif final:
            self.stdout.write(line)
