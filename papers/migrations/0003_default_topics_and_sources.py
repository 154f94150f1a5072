# Default topics and sources, so a fresh installation has something to fetch and subscribe to.
# Idempotent: existing rows (matched by slug) are left exactly as admins edited them.

from django.db import migrations

from papers.default_sources import DEFAULT_SOURCES
from papers.default_topics import DEFAULT_TOPICS


def create_defaults(apps, schema_editor):
    Topic = apps.get_model("papers", "Topic")
    Source = apps.get_model("papers", "Source")
    for order, topic in enumerate(DEFAULT_TOPICS):
        Topic.objects.get_or_create(
            slug=topic["slug"],
            defaults={
                "name": topic["name"],
                "description": topic["description"],
                "keywords": "\n".join(topic["keywords"]),
                "categories": "\n".join(topic["categories"]),
                "display_order": (order + 1) * 10,
            },
        )
    for source in DEFAULT_SOURCES:
        Source.objects.get_or_create(
            slug=source["slug"],
            defaults={key: value for key, value in source.items() if key != "slug"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0002_paper_indexes"),
    ]

    operations = [
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
