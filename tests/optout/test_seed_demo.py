import pytest
from django.core.management import CommandError, call_command

from governance.models import DatasetVersion
from optout.models import RemovalRequest, VerificationAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def test_seeding_twice_keeps_one_of_everything(capsys, settings) -> None:
    settings.DEBUG = True  # the demo is for the development site only
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    demo = RemovalRequest.objects.exclude(contact_email="")
    assert demo.count() == 5
    assert sorted(demo.values_list("status", flat=True)) == [
        "applied",
        "pending_verification",
        "rejected",
        "verified",
        "withdrawn",
    ]
    assert DatasetVersion.objects.filter(status="published").count() == 1
    # The demo shards' opt-out markers became verified requests, once.
    markers = RemovalRequest.objects.filter(marker_origin__isnull=False)
    assert markers.count() == RemovalRequest.objects.filter(contact_email="").count() >= 3
    assert set(markers.values_list("status", flat=True)) == {"verified"}
    credentials = [line for line in first.splitlines() if "Maintainer login" in line]
    assert credentials and credentials[0] in second


def test_seeding_refuses_a_production_site(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="embedded development site"):
        call_command("seed_demo")
    assert not RemovalRequest.objects.exists()


def test_the_demos_verified_requests_carry_their_evidence_and_no_mail_floods_the_console(
    capsys, settings
) -> None:
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    call_command("seed_demo")

    out = capsys.readouterr().out
    demo = RemovalRequest.objects.exclude(contact_email="")
    for request in demo.filter(status__in=["verified", "applied"]):
        for subject in request.subjects.all():
            assert subject.verified_at is not None
            attempt = VerificationAttempt.objects.get(subject=subject)
            assert attempt.succeeded and attempt.evidence["demo"] is True
    assert "Subject:" not in out  # no e-mail printed
    assert out.strip().splitlines()[-1].startswith("Maintainer login for /admin/")
