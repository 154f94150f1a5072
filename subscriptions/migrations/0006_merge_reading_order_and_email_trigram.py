# Two migrations numbered 0005 were written side by side; this joins them (neither depends on the other).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0005_reading_order'),
        ('subscriptions', '0005_subscriber_email_trigram'),
    ]

    operations = [
    ]
