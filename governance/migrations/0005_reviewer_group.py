"""The "reviewer" group: maintainers who review requests and release, nothing more.

Reviewers read requests, their evidence and history, exclusions, the log, datasets and
versions; they approve, reject and revoke requests, revoke exclusions, start releases
and retry failed ones. Datasets, pipeline tokens and accounts stay with superusers.

The three actions are permissions of their own, created here (with the view permissions
the group needs, which Django would otherwise only create after the last migration).
"""

from django.db import migrations

GROUP = "reviewer"
# app label -> model -> codenames (view_* and the decisions reviewers take).
PERMISSIONS = {
    "optout": {
        "removalrequest": {
            "view_removalrequest": "Can view removal request",
            "review_removalrequest": "Can approve, reject and revoke removal requests",
        },
        "requestsubject": {"view_requestsubject": "Can view request subject"},
        "requestevent": {"view_requestevent": "Can view request event"},
        "verificationattempt": {"view_verificationattempt": "Can view verification attempt"},
    },
    "registry": {
        "exclusion": {
            "view_exclusion": "Can view exclusion",
            "revoke_exclusion": "Can revoke exclusions",
        },
        "logentry": {"view_logentry": "Can view log entry"},
        "signedcheckpoint": {"view_signedcheckpoint": "Can view signed checkpoint"},
    },
    "governance": {
        "dataset": {
            "view_dataset": "Can view dataset",
            "release_dataset": "Can start releases and retry failed ones",
        },
        "datasetversion": {"view_datasetversion": "Can view dataset version"},
        "shardbuild": {"view_shardbuild": "Can view shard build"},
        "versionverification": {"view_versionverification": "Can view version verification"},
    },
}


def create_reviewer_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, models in PERMISSIONS.items():
        for model, codenames in models.items():
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
            for codename, name in codenames.items():
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=codename, defaults={"name": name}
                )
                group.permissions.add(permission)


def remove_reviewer_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("governance", "0004_shard_rows_done"),
        ("optout", "0001_initial"),
        ("registry", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_reviewer_group, remove_reviewer_group)]
