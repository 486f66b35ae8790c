from django.db import models


class VersionStatus(models.TextChoices):
    BUILDING = "building", "Building"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


class ReleaseStep(models.TextChoices):
    """Where a building version is; the admin and the CLI show it as progress."""

    PLANNING = "planning", "Planning"
    SHARDS = "shards", "Writing shards"
    PUBLISHING = "publishing", "Publishing"
    DONE = "done", "Done"


class ShardStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"


class ShardAction(models.TextChoices):
    REWRITE = "rewrite", "Rewrite (filter the source shard)"
    REUSE = "reuse", "Reuse the previous output (nothing changed in it)"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed (the report says what is wrong)"


OPEN_VERIFICATIONS = (VerificationStatus.QUEUED, VerificationStatus.RUNNING)


class MarkerKind(models.TextChoices):
    """An opt-out signal found at a repository's root inside the dataset's rows."""

    DATASET_OPTOUT = "dataset-optout", "File .dataset-optout with the opt-out directive"
    AIPREF_ROBOTS = "aipref-robots", "robots.txt with an AI-preference rule train-ai=n for /"
