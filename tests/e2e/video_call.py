"""A real video call between two headless Chromium contexts, through the real pages.

Run inside a loopback-only network namespace (tests/e2e/test_browser_call.py does this):
the server uses the embedded default (a fresh SQLite file, the in-memory channel layer),
WebRTC connects over 127.0.0.1, and nothing leaves the machine. Prints one JSON line with
what it saw and exits non-zero if the call did not connect.
"""

import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import free_port, server_env, start_server, stop  # noqa: E402
PASSWORD = "e2e-video-consult-pass"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


def prepare_database(env: dict) -> dict:
    """Migrate a fresh database and create a doctor, a daughter and her father's booking
    that starts in ten minutes (so check-in is open)."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.utils import timezone

    from consult.models import Booking, Clinic, Doctor, Hospital, Slot
    from tests.factories import ConditionFactory, DependantFactory, LabFactory, PatientFactory, UserFactory
    from tests.second_factor import enrol

    hospital = Hospital.objects.create(name="宁波市第一医院")
    clinic = Clinic.objects.create(hospital=hospital, name="高血压云诊室", specialty="cardiology")
    doctor_user = UserFactory(role="doctor", full_name="陈晓敏 Chen Xiaomin", phone="+8613600000001")
    doctor_user.set_password(PASSWORD)
    doctor_user.save()
    doctor = Doctor.objects.create(user=doctor_user, hospital=hospital, licence_number="330200000001", verified=True)
    enrol(doctor_user)  # an authenticator (tests.second_factor), for admitting
    daughter = PatientFactory(full_name="张薇 Zhang Wei", account__phone="+8613800000001")
    daughter.account.set_password(PASSWORD)
    daughter.account.save()
    father = DependantFactory(full_name="张林 Zhang Lin", proxy=daughter.account)
    ConditionFactory(patient=father, icd10_code="I10", name="Essential hypertension")
    LabFactory(patient=father, value=48)
    start = timezone.now() + timedelta(minutes=10)
    slot = Slot.objects.create(doctor=doctor, clinic=clinic, starts_at=start, ends_at=start + timedelta(minutes=15), capacity=5, booked=1, fee=50)
    booking = Booking.objects.create(patient=father, slot=slot, queue_number=1, reason="复诊", booked_by=daughter.account)
    # The slot's day in the hospital's time zone: ten minutes from now may be tomorrow there.
    day = timezone.localdate(start).isoformat()
    return {"doctor_phone": "13600000001", "family_phone": "13800000001", "booking": booking.pk, "day": day}


def doctor_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(phone="+8613600000001")


def login(page, base: str, phone: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_load_state("networkidle")


def main() -> int:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="e2e-video-"))
    env = server_env(workdir)
    people = prepare_database(env)
    from tests.second_factor import admit_in_room  # after django.setup()

    # This driver reads the doctor's authenticator (the database) between browser steps, inside
    # Playwright's event loop; it is a test script, not server code (as tests/e2e/browser.py).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, workdir / "server.log")
    seen: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            family = browser.new_context().new_page()
            doctor = browser.new_context().new_page()
            doctor.on("dialog", lambda dialog: dialog.accept())

            login(family, base, people["family_phone"])
            assert family.url.endswith("/patient/"), family.url
            family.click(f"[data-booking='{people['booking']}'] button.check-in")
            family.wait_for_url("**/care/bookings/*/waiting/")  # the waiting room, then the video
            family.click("#join-video")
            family.wait_for_url("**/consult/*/")
            family.wait_for_function("window.consult && window.consult.ws && window.consult.ws.readyState === 1")
            seen["family_status_waiting"] = family.text_content("#status")

            login(doctor, base, people["doctor_phone"])
            assert doctor.url.endswith("/portal/"), doctor.url
            doctor.goto(f"{base}/portal/?date={people['day']}")
            doctor.click(f"tr[data-booking='{people['booking']}'] button.open-room")
            doctor.wait_for_url("**/consult/*/")
            doctor.wait_for_selector("#record >> text=I10")
            # The doctor's identity before the consult: the room asks for the authenticator's code.
            admit_in_room(doctor, doctor_user(), timeout=10_000)

            connected = "window.consult.connectionState === 'connected' && window.consult.framesReceived > 10"
            doctor.wait_for_function(connected, timeout=20_000)
            family.wait_for_function(connected, timeout=20_000)
            for name, page in (("doctor", doctor), ("family", family)):
                seen[name] = page.evaluate(
                    "({state: window.consult.pc.connectionState, frames: window.consult.framesReceived,"
                    " width: document.getElementById('remote').videoWidth})"
                )

            family.fill("#chat-text", "看得到吗？")
            family.click("#chat-form button")
            doctor.wait_for_selector("#chat-log >> text=看得到吗？")
            doctor.fill("textarea[name=diagnosis]", "I10 Essential hypertension")
            doctor.click("#save-notes")
            doctor.wait_for_selector("#notes-status >> text=Saved")
            doctor.click("#end")
            family.wait_for_function("window.consult.ended === true", timeout=10_000)
            seen["family_status_end"] = family.text_content("#status")
            browser.close()
    finally:
        stop(server)
    ok = all(seen.get(side, {}).get("state") == "connected" and seen[side]["frames"] > 10 and seen[side]["width"] > 0 for side in ("doctor", "family"))
    print(json.dumps(seen, ensure_ascii=False))
    if not ok:
        print((workdir / "server.log").read_text()[-4000:], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
