"""Load prescriptions/knowledge/formulary.yaml, so a new database has the formulary.

Later changes to the file reach a database through `manage.py load_formulary`. The load uses
this migration's Drug (fields a later migration adds are left for load_formulary) and is
skipped when FORMULARY_LOAD_ON_MIGRATE is off (the test suite, whose tests seed what they need).
"""

from django.conf import settings
from django.db import migrations


def load(apps, schema_editor):
    if not getattr(settings, "FORMULARY_LOAD_ON_MIGRATE", True):
        return
    from prescriptions.formulary import formulary_load

    formulary_load(model=apps.get_model("prescriptions", "Drug"))


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0008_online_prescribing_rules")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
