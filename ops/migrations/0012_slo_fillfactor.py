"""``ops_slo`` keeps 60 % of each page free (PostgreSQL ``fillfactor = 40``).

Every SLO tick rewrites the value, sample count and evaluation time of nearly every SLO
(``ops.slo._store_values``); none of those columns is indexed, so with room on the page
each new row version is a HOT update (no entry in the four indexes). On full pages every
update went to another page and into every index: 194 ms for 10,000 SLOs against 43 ms
with this setting (bench.slo_eval's layout, 2026-12-03). Pages written from now on keep
the room; ``VACUUM FULL ops_slo`` rewrites the existing ones. SQLite: nothing to do.
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ops_slo SET (fillfactor = 40)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ops_slo RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0011_sample_blocks"),
    ]

    operations = [migrations.RunPython(forward, backward)]
