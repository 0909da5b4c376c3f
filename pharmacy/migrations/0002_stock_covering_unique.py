"""Faster dispatch search: drop the stock.pharmacy index (the (pharmacy, drug) unique index
leads with it) and, on PostgreSQL, rebuild that unique constraint with INCLUDE (on_hand,
reserved) so "which pharmacies have every item" is an index-only scan. Measured with
bench/dispatch.py (10,000 pharmacies x 200 drugs): delivery_candidates p50 40 ms -> 10 ms.
"""

import django.db.models.deletion
from django.db import migrations, models

PLAIN = "UNIQUE (pharmacy_id, drug_id)"
COVERING = "UNIQUE (pharmacy_id, drug_id) INCLUDE (on_hand, reserved)"


def _replace(definition: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            "ALTER TABLE pharmacy_stock DROP CONSTRAINT stock_one_row_per_pharmacy_drug, "
            f"ADD CONSTRAINT stock_one_row_per_pharmacy_drug {definition}"
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("pharmacy", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stock",
            name="pharmacy",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="stock_lines",
                to="pharmacy.pharmacy",
            ),
        ),
        migrations.RunPython(_replace(COVERING), _replace(PLAIN)),
    ]
