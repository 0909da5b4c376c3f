"""python manage.py seed_demo: demo data for every capability, safe to run again."""

from django.core.management.base import BaseCommand
from django.db import transaction

from consult import demo as consult_demo
from consult import demo_booking
from consult.demo import DEMO_PASSWORD
from pharmacy import demo as pharmacy_demo
from prescriptions import demo as prescriptions_demo


class Command(BaseCommand):
    help = "Create demo data (Zhang Lin, his daughter, ...). Running it twice creates no duplicates."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=["small", "full"], default="small",
            help="full adds bulk data for load trials (2,000 pharmacies, ...).",
        )

    def handle(self, *args, **options):
        scale = options["scale"]
        with transaction.atomic():
            people = consult_demo.seed(stdout=self.stdout)
            desk = demo_booking.seed(scale=scale, people=people, password=DEMO_PASSWORD, stdout=self.stdout)
            prescriptions_demo.seed(stdout=self.stdout, password=DEMO_PASSWORD)
            pharmacy_demo.seed(scale=scale, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  Log in as Zhang Lin's daughter: phone 13800000001, password {DEMO_PASSWORD}\n"
            f"  Admin (/admin/): phone 13900000000, password {DEMO_PASSWORD}\n"
            f"  Dr. Chen Xiaomin 陈晓敏 (doctor): phone 13900000010, password {DEMO_PASSWORD}; admitting and signing "
            f"take her authenticator's code: python manage.py demo_totp 13900000010"
            f"\n  Review pharmacist 李审方 (审方药师): phone {prescriptions_demo.REVIEW_PHARMACIST['phone']}, "
            f"password {DEMO_PASSWORD}"
        )
        self.stdout.write(demo_booking.visit_summary(desk["zhang_lin_booking"], desk["demo_session"]))
