from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.signing import write_new_signing_key


class Command(BaseCommand):
    help = "Create a new Ed25519 key file for signing registry checkpoints."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            write_new_signing_key(path)
        except FileExistsError:
            raise CommandError(
                f"{path} already exists; refusing to replace the log's key."
            ) from None
        self.stdout.write(f"Wrote a new signing key to {path}. Back it up; keep it secret.")
