"""A trigram index for the admin's search by part of an address (Postgres only).

The admin searches `email__icontains`, which Postgres runs as UPPER(email) LIKE UPPER('%…%'): a scan of
every subscriber (0.3 s at 100k) without an index of the same expression. pg_trgm is a trusted
extension (Postgres 13+): the database's owner may create it. Elsewhere (SQLite) nothing is done.
"""

from django.db import migrations

INDEX = "subscriber_email_upper_trgm"


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON subscriptions_subscriber "
        "USING gin (UPPER(email::text) gin_trgm_ops)"
    )


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_suppressed_address")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
