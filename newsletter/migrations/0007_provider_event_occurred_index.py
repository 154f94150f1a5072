from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexOnline(migrations.AddIndex):
    """CREATE INDEX CONCURRENTLY on Postgres: a year's provider events take minutes to index, and a
    plain CREATE INDEX would hold off every webhook's insert meanwhile. A plain index elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            online = AddIndexConcurrently(self.model_name, self.index)
            return online.database_forwards(app_label, schema_editor, from_state, to_state)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("newsletter", "0006_delivery_indexes_for_writes"),
    ]

    operations = [
        AddIndexOnline(
            model_name="providerevent",
            index=models.Index(fields=["occurred_at", "id"], name="provider_event_occurred_idx"),
        ),
    ]
