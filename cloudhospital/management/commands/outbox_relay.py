"""python manage.py outbox_relay: run the outbox's due side effects now.

In production Celery beat does this every OUTBOX_RELAY_SECONDS. On the embedded default
(eager Celery, no beat) an effect that failed its first attempt waits for the next kick;
this command (or cron) delivers it, and prints what it did."""

from django.core.management.base import BaseCommand

from cloudhospital.outbox import outbox_relay


class Command(BaseCommand):
    help = "Run the due outbox messages (notifications, webhooks, reminders ...) now."

    def handle(self, *args, **options):
        counts = outbox_relay()
        self.stdout.write(", ".join(f"{outcome}: {count}" for outcome, count in counts.items()))
