from django.db import models


class RequestStatus(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    VERIFIED = "verified", "Verified"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


OPEN_STATUSES = frozenset(
    {RequestStatus.PENDING_VERIFICATION, RequestStatus.VERIFIED, RequestStatus.APPROVED}
)
# States whose subjects are (or are about to be) in the registry.
EXCLUDING_STATUSES = frozenset({RequestStatus.APPROVED, RequestStatus.APPLIED})

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.PENDING_VERIFICATION: frozenset(
        {
            RequestStatus.VERIFIED,
            RequestStatus.REJECTED,
            RequestStatus.WITHDRAWN,
            RequestStatus.EXPIRED,
        }
    ),
    RequestStatus.VERIFIED: frozenset(
        {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.WITHDRAWN}
    ),
    RequestStatus.APPROVED: frozenset({RequestStatus.APPLIED, RequestStatus.WITHDRAWN}),
    RequestStatus.APPLIED: frozenset({RequestStatus.WITHDRAWN}),
    RequestStatus.REJECTED: frozenset(),
    RequestStatus.WITHDRAWN: frozenset(),
    RequestStatus.EXPIRED: frozenset(),
}


class VerificationMethod(models.TextChoices):
    REPOSITORY_FILE = "repository_file", "File .dataset-optout in the repository"
    NAMESPACE_REPOSITORY = "namespace_repository", "Proof repository in the namespace"
    FORGE_SIGNIN = "forge_signin", "Signed in with the forge"
    # Not a method an owner runs: the portal found the opt-out in the dataset itself.
    DATASET_MARKER = "dataset_marker", "Opt-out marker found in the dataset"


class LineOutcome(models.TextChoices):
    """What became of one line of a submission."""

    ACCEPTED = "accepted", "Accepted"
    INVALID = "invalid", "Invalid"
    DUPLICATE = "duplicate", "Repeats an earlier line"
    ALREADY_EXCLUDED = "already_excluded", "Already excluded"
