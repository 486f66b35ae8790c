from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Exclusion registry"

    def ready(self) -> None:
        from registry import receivers, schema  # noqa: F401  (signals; the OpenAPI token scheme)
