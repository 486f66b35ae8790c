"""What happens next, in words, for a request in each state: the page, e-mail and API say it."""

from __future__ import annotations

from optout.enums import EXCLUDING_STATUSES, RequestStatus
from optout.models import RemovalRequest
from optout.release_schedule import NextRelease, expected_next_release


def next_step(request: RemovalRequest, *, release: NextRelease | None = None) -> str:
    """``release``: the expected next release when the caller already has it."""
    status = request.status
    if status == RequestStatus.PENDING_VERIFICATION:
        expires = f" before {request.expires_at:%Y-%m-%d %H:%M} UTC" if request.expires_at else ""
        return (
            "Prove that you control what you named, then press \u201cCheck now\u201d"
            f"{expires}: commit a file .dataset-optout containing {request.verification_token} "
            "to the default branch of each repository, or create a repository named "
            f"dataset-optout-{request.verification_token} under the user or organisation."
        )
    if status == RequestStatus.VERIFIED and not request.contact_email:
        return (
            "Control is proven by the opt-out marker found in the dataset. A maintainer "
            "reviews verified requests; this page shows the decision."
        )
    if status == RequestStatus.VERIFIED:
        return (
            "Control is proven. A maintainer reviews verified requests; you will get an e-mail "
            "when yours is approved."
        )
    if status == RequestStatus.APPROVED:
        release = release or expected_next_release()
        return (
            "Your repositories are in the exclusion registry. The next dataset release "
            f"removes them; next release: {release.note}. We e-mail you when it ships."
        )
    if status == RequestStatus.APPLIED:
        return (
            "A published dataset version no longer contains your code. You can withdraw the "
            "request to opt back in to later versions."
        )
    if status == RequestStatus.REJECTED:
        return "The request was rejected; the reason is in the history. You may submit a new one."
    if status == RequestStatus.WITHDRAWN:
        ended = request.events.filter(to_status=RequestStatus.WITHDRAWN).last()
        if ended is not None and ended.revoked:
            return (
                "The maintainers revoked the request (their reason is above), so the registry "
                "no longer excludes what it named and the next dataset version includes the "
                "code again. You may submit a new request."
            )
        if ended is not None and ended.from_status not in EXCLUDING_STATUSES:
            return "The request was cancelled before anything was excluded."
        return "You withdrew the request; the code comes back in the next dataset version."
    return "The request expired before it was verified. Submit a new one to get a new token."
