"""Expire unverified requests now (what the beat task does every 15 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from optout.services import requests_expire_unverified


class Command(BaseCommand):
    help = "Expire removal requests still unverified past their expiry."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = requests_expire_unverified()
        self.stdout.write(f"{expired} request(s) expired.")
