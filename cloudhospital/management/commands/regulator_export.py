"""python manage.py regulator_export --from YYYY-MM-DD --to YYYY-MM-DD [--output file.json]: the
events reported to the supervision platform in that range (local dates, inclusive), as the one
JSON document an inspection asks for (cloudhospital.regulator.regulator_export; the format is
docs/regulator-feed.md, its JSON Schema docs/regulator-feed.schema.json). Standard output
without --output."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from cloudhospital.regulator import regulator_export


def _day(value: str, option: str):
    try:
        day = parse_date(value or "")
    except ValueError:
        day = None
    if day is None:
        raise CommandError(f"{option}: {value!r} is not a YYYY-MM-DD date")
    return day


class Command(BaseCommand):
    help = "Write the regulator events of a date range as one JSON document, for an inspection."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD (local).")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day, YYYY-MM-DD (local, inclusive).")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, **options):
        date_from, date_to = _day(options["date_from"], "--from"), _day(options["date_to"], "--to")
        if date_to < date_from:
            raise CommandError("--to is before --from")
        document = regulator_export(date_from=date_from, date_to=date_to)
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stdout.write(f"{len(document['events'])} events written to {options['output']}")
        else:
            self.stdout.write(text)
