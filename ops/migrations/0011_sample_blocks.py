"""``ops_sample_block``: closed day partitions compacted into one row per (series, hour)
(ops/metrics/store/compaction.py). PostgreSQL only; SQLite keeps its plain table."""

from django.db import migrations

from ops.metrics.store import compaction


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in compaction.create_table_sql():
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Blocks back into raw rows first (their day partitions are still attached). Blocks
    # have no foreign key: those of a deleted series are left behind, not copied.
    schema_editor.execute(
        f"INSERT INTO ops_sample (series_id, ts, value) SELECT b.series_id, u.ts, u.value "
        f"FROM {compaction.BLOCKS} AS b JOIN ops_series AS s ON s.id = b.series_id "
        "CROSS JOIN LATERAL unnest(b.ts, b.vals) AS u(ts, value) "
        "ON CONFLICT (series_id, ts) DO NOTHING"
    )
    schema_editor.execute(f"DROP TABLE {compaction.BLOCKS}")


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0010_merge_handoff_sdk_drops_partitions_min_samples"),
    ]

    operations = [migrations.RunPython(forward, backward)]
