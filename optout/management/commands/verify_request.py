"""Run ownership verification for one request, as the owner's "Check now" does."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from optout.models import RemovalRequest
from optout.verification import VerificationRefused, request_verify


class Command(BaseCommand):
    help = "Check ownership for a removal request now and print each result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("public_id", help="The request's id (the UUID in its link).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            public_id = uuid.UUID(options["public_id"])
            request = RemovalRequest.objects.get(public_id=public_id)
        except (ValueError, RemovalRequest.DoesNotExist):
            raise CommandError(f"No request has the id {options['public_id']!r}.") from None
        try:
            report = request_verify(request_id=request.id)
        except VerificationRefused as exc:
            raise CommandError(str(exc)) from None
        for attempt in report.attempts:
            mark = "ok " if attempt.succeeded else "no "
            self.stdout.write(
                f"{mark}{attempt.subject.subject} [{attempt.method}] {attempt.message}"
            )
        self.stdout.write(f"status: {report.request.status}")
