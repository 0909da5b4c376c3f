"""Notifications stored before the outbox whose delivery task never ran stay unsent for
ever; give each one an outbox row so the relay delivers it (once: delivery is keyed)."""

from django.db import migrations


def queue_unsent(apps, schema_editor):
    Notification = apps.get_model("cloudhospital", "Notification")
    OutboxMessage = apps.get_model("cloudhospital", "OutboxMessage")
    OutboxMessage.objects.bulk_create(
        OutboxMessage(task="cloudhospital.tasks.notification_deliver", args=[pk], kwargs={})
        for pk in Notification.objects.filter(sent_at__isnull=True).values_list("pk", flat=True).iterator()
    )


class Migration(migrations.Migration):
    dependencies = [("cloudhospital", "0005_outbox")]
    operations = [migrations.RunPython(queue_unsent, migrations.RunPython.noop)]
