"""python manage.py generate_slots: bring the rolling window of slots in line with the
doctors' schedule templates (the same diff the hourly beat task runs). Safe to repeat."""

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from consult.models import Doctor
from consult.schedules import slots_generate


class Command(BaseCommand):
    help = "Generate slots from schedule templates for the next --days days (never duplicates or deletes booked slots)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.SLOT_GENERATION_DAYS)
        parser.add_argument("--doctor", type=int, action="append", dest="doctors", help="Only this doctor id (repeatable).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs and cron).")

    def handle(self, *args, days, doctors, no_progress, **options):
        total = len(doctors) if doctors else Doctor.objects.count()
        with tqdm(total=total, unit="doctor", disable=no_progress, file=self.stderr) as bar:
            result = slots_generate(days=days, doctor_ids=doctors, progress=bar.update)
        self.stdout.write(f"Slots for {days} days: {result.created} created, {result.removed} removed.")
