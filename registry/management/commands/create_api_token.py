from django.core.management.base import BaseCommand, CommandError

from registry.enums import TokenScope
from registry.tokens import TokenError, token_create


class Command(BaseCommand):
    help = "Create a pipeline API token and print it once (it is stored only as a hash)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Who or what uses the token.")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=TokenScope.values,
            help="A scope to grant; repeat for several.",
        )
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, name: str, scope: list[str], expires_days: int | None, **options):
        try:
            token, key = token_create(name=name, scopes=scope, expires_days=expires_days)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        expiry = token.expiry_date.isoformat() if token.expiry_date else "never"
        self.stderr.write(f"Token {token.prefix} for {token.name!r}, expires {expiry}.")
        self.stderr.write("Store it now: it cannot be shown again.")
        self.stdout.write(key)
