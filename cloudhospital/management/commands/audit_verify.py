"""python manage.py audit_verify: walk the access log's hash chains and name the first broken
link. Exits 0 when every chain is intact, 1 otherwise (for a cron job or a restore drill)."""

from django.core.management.base import BaseCommand, CommandError

from cloudhospital.audit import access_log_verify


class Command(BaseCommand):
    help = "Verify the access log's hash chains; name the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--patient", type=int, action="append", help="Only this patient's chain (repeatable).")

    def handle(self, *args, **options):
        checked, broken = access_log_verify(patient_ids=options["patient"])
        if broken is not None:
            raise CommandError(f"access log chain broken after {checked} intact rows: {broken}")
        self.stdout.write(self.style.SUCCESS(f"access log intact: {checked} rows verified"))
