# Joins the three 0003 migrations of branches developed in parallel.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('apm', '0003_deviation_trigger_backfill'),
        ('apm', '0003_explanations'),
        ('apm', '0003_reminders_and_snooze'),
    ]

    operations = [
    ]
