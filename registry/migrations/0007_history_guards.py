"""Database guards: the log and the checkpoints are append-only, and every change to an
exclusion is matched by its log entry (PostgreSQL, where production runs).

No application path can then change the registry without the log saying so: not an admin
form, not a bulk ``QuerySet.update``/``delete``, not a shell session using the ORM. The
registry's services satisfy the guards by construction (an exclusion row and its entry
are written in one transaction; the check is deferred to commit). Someone with the
database's superuser can still switch triggers off; that is what backups and the signed,
mirrored log are for.
"""

from django.db import migrations

GUARDS = """
CREATE FUNCTION registry_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Registry history changes only through registry.services.';
END $$;

CREATE TRIGGER registry_logentry_append_only BEFORE UPDATE OR DELETE ON registry_logentry
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_rewrite();
CREATE TRIGGER registry_signedcheckpoint_append_only
    BEFORE UPDATE OR DELETE ON registry_signedcheckpoint
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_rewrite();
CREATE TRIGGER registry_exclusion_never_deleted BEFORE DELETE ON registry_exclusion
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_rewrite();

CREATE FUNCTION registry_exclusion_follows_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (
        NEW.kind <> OLD.kind OR NEW.subject <> OLD.subject OR NEW.cause <> OLD.cause
        OR NEW.added_at_index IS DISTINCT FROM OLD.added_at_index
        OR (NEW.active AND NOT OLD.active)
        OR (NEW.active = OLD.active AND NEW.removed_at_index IS DISTINCT FROM OLD.removed_at_index)
    ) THEN
        RAISE EXCEPTION 'exclusion % (%): only its removal may change it', NEW.id, NEW.subject
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Revoke through registry.services; re-adding creates a new row.';
    END IF;
    IF TG_OP = 'INSERT' AND NOT EXISTS (
        SELECT 1 FROM registry_logentry e WHERE e."index" = NEW.added_at_index
            AND e.action = 'add' AND e.kind = NEW.kind AND e.subject = NEW.subject
    ) THEN
        RAISE EXCEPTION 'exclusion of % has no "add" log entry at index %',
            NEW.subject, NEW.added_at_index
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Add exclusions through registry.services.';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.active AND NOT NEW.active AND NOT EXISTS (
        SELECT 1 FROM registry_logentry e WHERE e."index" = NEW.removed_at_index
            AND e.action = 'remove' AND e.kind = NEW.kind AND e.subject = NEW.subject
    ) THEN
        RAISE EXCEPTION 'removal of % has no "remove" log entry at index %',
            NEW.subject, NEW.removed_at_index
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Revoke exclusions through registry.services.';
    END IF;
    RETURN NULL;
END $$;

-- Deferred to commit: the services write the row first and its log entry after it.
CREATE CONSTRAINT TRIGGER registry_exclusion_follows_log
    AFTER INSERT OR UPDATE ON registry_exclusion DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION registry_exclusion_follows_log();
"""

DROP = """
DROP TRIGGER registry_exclusion_follows_log ON registry_exclusion;
DROP FUNCTION registry_exclusion_follows_log();
DROP TRIGGER registry_exclusion_never_deleted ON registry_exclusion;
DROP TRIGGER registry_signedcheckpoint_append_only ON registry_signedcheckpoint;
DROP TRIGGER registry_logentry_append_only ON registry_logentry;
DROP FUNCTION registry_refuse_rewrite();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: % is plpgsql's

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_downstream_receipts")]

    operations = [migrations.RunPython(_on_postgresql(GUARDS), _on_postgresql(DROP))]
