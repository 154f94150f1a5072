# Two migrations numbered 0005 were written side by side; this joins them (neither depends on the other).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('papers', '0005_paper_display_text'),
        ('papers', '0005_source_last_success'),
    ]

    operations = [
    ]
