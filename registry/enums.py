from django.db import models


class ExclusionKind(models.TextChoices):
    REPOSITORY = "repository", "Repository"
    NAMESPACE = "namespace", "Namespace"


class LogAction(models.TextChoices):
    ADD = "add", "Add"
    REMOVE = "remove", "Remove"


class TokenScope(models.TextChoices):
    REGISTRY_READ = "registry:read", "Read the registry (bulk check, export, log)"
