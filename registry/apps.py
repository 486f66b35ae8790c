from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Exclusion registry"

    def ready(self) -> None:
        from registry import schema  # noqa: F401  (the OpenAPI token scheme)
