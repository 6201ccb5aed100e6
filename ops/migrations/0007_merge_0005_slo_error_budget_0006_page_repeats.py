# Joins the three 0003 migrations of branches developed in parallel.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ops', '0005_slo_error_budget'),
        ('ops', '0006_page_repeats'),
    ]

    operations = [
    ]
