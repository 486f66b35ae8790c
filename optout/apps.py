from django.apps import AppConfig


class OptoutConfig(AppConfig):
    name = "optout"
    verbose_name = "Removal requests"

    def ready(self) -> None:
        from optout import receivers  # noqa: F401  (connects signal receivers)
