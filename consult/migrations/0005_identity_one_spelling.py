"""ID numbers and phones stored before they were normalised may carry full-width digits, so
one person could be registered twice. Rewrite each to its one ASCII spelling; where that
spelling is already taken by another patient or account, the two are the same person
registered twice: they are listed (the migration's output) for staff to merge, and left as
they are rather than merged blindly."""

import unicodedata

from django.db import migrations


def ascii_form(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip().upper()


def normalise(model, field: str, *, label: str) -> list[tuple[int, int]]:
    duplicates = []
    taken = {getattr(row, field): row.pk for row in model.objects.all()}
    for row in model.objects.all():
        value = getattr(row, field)
        spelled = ascii_form(value)
        if not value or spelled == value:
            continue
        other = taken.get(spelled)
        if other is not None and other != row.pk:
            duplicates.append((other, row.pk))
            print(f"\n  {label} {other} and {row.pk} share {field} {spelled}: the same person twice, merge by hand")
            continue
        model.objects.filter(pk=row.pk).update(**{field: spelled})
        taken[spelled] = row.pk
    return duplicates


def forwards(apps, schema_editor):
    normalise(apps.get_model("consult", "Patient"), "id_number", label="patients")
    normalise(apps.get_model("consult", "Patient"), "phone", label="patients")
    normalise(apps.get_model("cloudhospital", "User"), "phone", label="accounts")


class Migration(migrations.Migration):
    dependencies = [("consult", "0004_alter_allergy_options_alter_booking_options_and_more"),
                    ("cloudhospital", "0006_outbox_unsent_notifications")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
