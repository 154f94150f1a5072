"""Paper.display_title / display_abstract: the LaTeX of titles and abstracts as Unicode text, filled for
the papers stored before (new ones get it at ingest)."""

from django.db import migrations, models

BATCH = 500  # papers read and written per round: a few MB of text


def fill_display_text(apps, schema_editor):
    # The converter itself, not a frozen copy: a migration that filled rows differently from the
    # ingest would show two kinds of text side by side.
    from papers.latex import stored_display_text

    Paper = apps.get_model("papers", "Paper")
    last = 0
    while True:
        papers = list(
            Paper.objects.filter(pk__gt=last).order_by("pk").only("pk", "title", "abstract")[:BATCH]
        )
        if not papers:
            return
        for paper in papers:
            paper.display_title = stored_display_text(paper.title)
            paper.display_abstract = stored_display_text(paper.abstract)
        Paper.objects.bulk_update(papers, ["display_title", "display_abstract"])
        last = papers[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0004_source_last_new_papers"),
    ]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="display_abstract",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="paper",
            name="display_title",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill_display_text, migrations.RunPython.noop, elidable=True),
    ]
