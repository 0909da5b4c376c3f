"""python manage.py load_formulary [--check] [--file PATH]: validate the formulary file and
upsert it into the Drug table (prescriptions.formulary.formulary_load): changed rows get a
history row, codes no longer in the file are deactivated. `--check` validates and reports what
would change without writing; a bad entry fails naming its code and field."""

from django.core.management.base import BaseCommand, CommandError

from prescriptions.formulary import FORMULARY_FILE, FormularyInvalid, formulary_load, formulary_read


class Command(BaseCommand):
    help = "Validate prescriptions/knowledge/formulary.yaml and load it into the formulary (Drug)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Validate and report the changes; write nothing.")
        parser.add_argument("--file", default=str(FORMULARY_FILE), help="The formulary file (default: the app's).")

    def handle(self, *args, **options):
        try:
            formulary = formulary_read(options["file"])
        except FormularyInvalid as refused:
            raise CommandError(refused.message) from None
        except OSError as failed:
            raise CommandError(f"--file: {failed}") from None
        report = formulary_load(formulary=formulary, check=options["check"])
        self.stdout.write(("check: " if options["check"] else "") + report.summary())
        for label, codes in (("new", report.created), ("updated", report.updated), ("deactivated", report.deactivated)):
            if codes:
                self.stdout.write(f"  {label}: {', '.join(codes)}")
