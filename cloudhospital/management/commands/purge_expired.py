"""python manage.py purge_expired [--dry-run] [--now ISO] [--kind NAME]: delete what is past its
retention period (cloudhospital.retention), never what a legal hold covers, and report per kind
of record what was past retention, purged, held and skipped. Every run is recorded (PurgeRun)."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cloudhospital.retention import retention_kinds, retention_purge


class Command(BaseCommand):
    help = "Purge records past retention (never those under a legal hold) and report per kind."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")
        parser.add_argument("--now", help="Measure retention as of this ISO moment (default: now).")
        parser.add_argument("--kind", action="append", help="Only this kind of record (repeatable).")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = parse_datetime(options["now"]) or _date(options["now"])
            except ValueError:
                now = None
            if now is None:
                raise CommandError(f"--now: {options['now']!r} is not an ISO date or datetime")
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        known = {kind.name for kind in retention_kinds()}
        unknown = set(options["kind"] or ()) - known
        if unknown:
            raise CommandError(f"--kind: unknown {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        run = retention_purge(now=now, dry_run=options["dry_run"], kinds=options["kind"])
        verb = "would purge" if run.dry_run else "purged"
        self.stdout.write(f"purge {'(dry run) ' if run.dry_run else ''}as of {run.as_of.isoformat()}, run {run.pk}")
        for row in run.report:
            done = row["would_purge"] if run.dry_run else row["purged"]
            actions = ", ".join(f"{name} {count}" for name, count in sorted(row["actions"].items()))
            self.stdout.write(
                f"  {row['kind']} (keep {_years(row['years'])}): past retention {row['past_retention']}, "
                f"{verb} {done}{f' ({actions})' if actions else ''}, held {row['held']}, skipped {row['skipped']}"
            )


def _date(value: str) -> datetime | None:
    """A bare date means its midnight."""
    try:
        day = parse_date(value)
    except ValueError:
        return None
    return datetime.combine(day, time.min) if day else None


def _years(years) -> str:
    return f"{years} years" if isinstance(years, int) else str(years)
