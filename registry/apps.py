from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Exclusion registry"

    def ready(self) -> None:
        from registry import (
            receipts_admin,  # noqa: F401  (downstream users' admin pages)
            schema,  # noqa: F401  (the OpenAPI token scheme)
        )
