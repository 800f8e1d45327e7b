"""On PostgreSQL, the database itself refuses to change or delete an audit event.

TRUNCATE is left alone: it is an owner's operation (and how test runs reset tables).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION requests_app_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER requests_app_auditevent_append_only
    BEFORE UPDATE OR DELETE ON requests_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION requests_app_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS requests_app_auditevent_append_only ON requests_app_auditevent;
DROP FUNCTION IF EXISTS requests_app_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
