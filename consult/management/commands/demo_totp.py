"""python manage.py demo_totp <phone>: the code a demo doctor's authenticator shows now.

The demo doctors (seed_demo) share the published key consult.demo_booking.DEMO_TOTP_KEY, so
the demo can be played without a phone. This prints the next code the server accepts (the
current one, or the next step's when the current one was just used). It refuses any other
authenticator: a real doctor's codes are on their phone only."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cloudhospital.identity import IdentityError, normalise_mobile
from consult.demo_booking import DEMO_TOTP_KEY


class Command(BaseCommand):
    help = "Print the current authenticator code of a demo doctor (seed_demo's published key only)."

    def add_arguments(self, parser):
        parser.add_argument("phone", help="The doctor's login, e.g. 13900000010")

    def handle(self, *args, phone, **options):
        try:
            phone = normalise_mobile(phone)
        except IdentityError as exc:
            raise CommandError(str(exc)) from None
        user = get_user_model().objects.filter(phone=phone).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=True, key=DEMO_TOTP_KEY).first() if user else None
        if device is None:
            raise CommandError(f"{phone} has no demo authenticator (run seed_demo; only demo doctors have one).")
        now = int((time.time() - device.t0) // device.step) + device.drift
        step = max(now, device.last_t + 1)
        code = str(hotp(device.bin_key, step, digits=device.digits)).zfill(device.digits)
        self.stdout.write(code)
