"""Zhang Lin's day, end to end, through the public HTTP API and the signalling socket only.

    make demo                       # a fresh server on the embedded default (SQLite, eager Celery)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make demo
                                    # PostgreSQL (a fresh database `ch_demo`), Redis, a real Celery worker
    python demo/zhang_lin.py --base-url http://127.0.0.1:8000   # against a server you run (demo data loaded)

A scripted client plays every part: the daughter, Dr. Chen Xiaomin, the review pharmacist
and the pharmacy. It prints each step and exits non-zero at the first one that fails.
The family books the first free slot of Dr. Chen's today: `seed_demo` adds a demo session
that starts a few minutes after it runs, so check-in and the room are open at once, with
the server's settings as they are (nothing is bent, here or against your own `make run`).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cloudhospital.identity import make_resident_id  # noqa: E402  (pure function: builds valid synthetic ID numbers)
from tests.e2e.harness import free_port, start_server, stop  # noqa: E402

DEMO_PASSWORD = "yunyiyuan-demo-2026"
DOCTOR_PHONE = "13900000010"
# The demo doctors' authenticator secret, published (consult/demo_booking.py DEMO_TOTP_KEY;
# docs/compliance-doctor-identity.md): RFC 6238's test key "12345678901234567890".
DEMO_TOTP_KEY = bytes.fromhex("3132333435363738393031323334353637383930")
PHARMACIST_PHONE = "13500000001"
PHARMACY_TOKEN = "chp_demo_kangning_gulou_not_for_production"
CHECK_IN_MINUTES = 30  # the server's BOOKING_CHECK_IN_OPENS_MINUTES default
# 海曙区鼓楼, a few hundred metres from the Gulou pharmacy: where Zhang Lin lives in this story.
HOME = {"address": "浙江省宁波市海曙区公园路 18 弄 2 号 301 室", "lat": 29.8752, "lng": 121.5479}


class StepFailed(Exception):
    pass


class Authenticator:
    """Dr. Chen's phone: TOTP (RFC 6238, 30 s, 6 digits) with the demo key. The server accepts
    each step once and one step ahead (following the phone's drift), so a second code within
    the same 30 s is the next step's, as the server then expects."""

    def __init__(self, key: bytes):
        self.key, self.last, self.drift = key, None, 0

    def code(self) -> str:
        import hashlib
        import hmac
        import struct

        now = int(time.time()) // 30
        step = now + self.drift
        if self.last is not None and step <= self.last:
            step = self.last + 1
        self.drift, self.last = step - now, step
        digest = hmac.new(self.key, struct.pack(">Q", step), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Story:
    """Numbered, readable steps; any unexpected answer stops the story with its body."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base, timeout=30)
        self.number = 0

    def step(self, title: str) -> None:
        self.number += 1
        print(f"\n{self.number:>2}. {title}", flush=True)

    def say(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def call(self, method: str, path: str, *, token: str | None = None, scheme: str = "Token", expect=(200, 201), **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"{scheme} {token}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise StepFailed(f"{method} {path} answered {response.status_code}: {response.text[:800]}")
        return response.json() if response.content else None

    def login(self, phone: str, password: str = DEMO_PASSWORD) -> str:
        return self.call("POST", "/api/auth/login/", json={"phone": phone, "password": password})["token"]

    def socket(self, consultation_id: int, token: str):
        ticket = self.call("POST", f"/api/consultations/{consultation_id}/ticket/", token=token)["ticket"]
        ws_base = self.base.replace("http://", "ws://").replace("https://", "wss://")
        return connect(f"{ws_base}/ws/consultations/{consultation_id}/?ticket={ticket}", open_timeout=10)


def receive(ws, kind: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message
        if message["type"] == "error":
            raise StepFailed(f"socket error while waiting for {kind}: {message}")


def run(story: Story) -> dict:
    rng = random.Random()
    phone = f"138{rng.randint(10_000_000, 99_999_999)}"
    daughter_id = make_resident_id(region="330203", birth_date=date(1968, 9, 12), sequence=rng.randint(10, 99), sex="female")
    father_id = make_resident_id(region="330203", birth_date=date(1937, 3, 15), sequence=rng.randint(10, 99), sex="male")

    story.step("Zhang Wei registers with her real name, ID number and phone")
    registered = story.call("POST", "/api/auth/register/", json={
        "full_name": "张薇 Zhang Wei", "id_number": daughter_id, "phone": phone, "password": DEMO_PASSWORD})
    family = registered["token"]
    story.say(f"account for {registered['patient']['full_name']}, ID shown as {registered['patient']['id_number']}")

    story.step("She adds her father Zhang Lin (born 1937, no login of his own) as a dependant")
    father = story.call("POST", "/api/patients/", token=family, json={
        "full_name": "张林 Zhang Lin", "id_number": father_id, "relationship": "parent", "address": HOME["address"]})
    pid = father["id"]
    story.say(f"patient #{pid}: born {father['birth_date']}, {father['sex']}, she acts for him as his child")

    story.step("His health record: hypertension since 2006, CKD stage 3, a sulfonamide allergy, eGFR 48")
    # Each was diagnosed in person first (online care only follows up such a diagnosis).
    for condition in ({"icd10_code": "I10", "name": "原发性高血压 Essential hypertension", "onset_date": "2006-04-01",
                       "diagnosed_institution": "宁波市第一医院", "diagnosed_on": "2006-04-01"},
                      {"icd10_code": "N18.3", "name": "慢性肾脏病3期 CKD stage 3", "onset_date": "2019-10-01",
                       "diagnosed_institution": "宁波市第一医院", "diagnosed_on": "2019-10-01"}):
        story.call("POST", f"/api/patients/{pid}/conditions/", token=family, json=condition)
    story.call("POST", f"/api/patients/{pid}/allergies/", token=family, json={
        "substance": "Sulfonamides 磺胺类", "category": "drug_class", "reaction": "Rash", "severity": "moderate"})
    story.call("POST", f"/api/patients/{pid}/medications/", token=family, json={"name": "苯磺酸氨氯地平片 Amlodipine", "drug_code": "AMLO-T5", "dose": "5 mg", "frequency": "qd"})
    lab_time = (datetime.now().astimezone() - timedelta(days=20)).isoformat()
    story.call("POST", f"/api/patients/{pid}/observations/", token=family, json={"kind": "egfr", "value": "48", "measured_at": lab_time})
    story.say("2 conditions, 1 allergy, 1 medication, eGFR 48 recorded")

    story.step("A week of home blood-pressure readings, morning and evening")
    now = datetime.now().astimezone()
    for day in range(7, 0, -1):
        for hour, (systolic, diastolic) in ((7, (158 + rng.randint(-8, 10), 88 + rng.randint(-5, 6))), (20, (146 + rng.randint(-8, 8), 84 + rng.randint(-5, 5)))):
            measured = (now - timedelta(days=day)).replace(hour=hour, minute=rng.randint(0, 40))
            story.call("POST", f"/api/patients/{pid}/observations/", token=family, json={
                "kind": "blood_pressure", "systolic": systolic, "diastolic": diastolic, "pulse": rng.randint(64, 82), "measured_at": measured.isoformat()})
    refused = story.call("POST", f"/api/patients/{pid}/observations/", token=family, expect=400, json={
        "kind": "blood_pressure", "systolic": 400, "diastolic": 90, "measured_at": now.isoformat()})
    trend = story.call("GET", f"/api/patients/{pid}/bp-trend/", token=family)
    story.say(f"14 readings; {round(trend['share_high'] * 100)}% at or above 140/90. A typo (400 mmHg) is refused: {refused['errors'][0]['detail']}")

    story.step("She finds the 高血压云诊室 and Dr. Chen Xiaomin")
    clinic = story.call("GET", "/api/clinics/", token=family, params={"search": "高血压"})["results"][0]
    doctor = story.call("GET", "/api/doctors/", token=family, params={"clinic": clinic["id"], "search": "陈晓敏"})["results"][0]
    hospital = clinic["hospital"]["name"] if isinstance(clinic["hospital"], dict) else clinic["hospital"]
    next_slot = doctor.get("next_available_slot") or {}
    story.say(f"{clinic['name']} at {hospital}; {doctor['name']}, {doctor['title_name']}, next free slot {next_slot.get('starts_at', 'none')}")

    story.step("Before his first online consult she reads and accepts the informed consent (知情同意书) for him")
    consent = story.call("GET", "/api/consents/current/", token=family)
    story.call("POST", f"/api/patients/{pid}/consents/", token=family, json={"version": consent["version"]})
    story.say(f"accepted version {consent['version']} on her father's behalf")

    story.step("She books today's first free slot for her father")
    slots = story.call("GET", "/api/slots/", token=family, params={
        "clinic": clinic["id"], "doctor": doctor["id"], "date_from": now.date().isoformat(), "available": "true"})["results"]
    slot = slots[0] if slots else None
    # seed_demo adds a demo session starting a few minutes after it runs, inside the check-in
    # window (30 minutes before the start by default), so the visit can be held at once.
    if slot is None or datetime.fromisoformat(slot["starts_at"]) > datetime.now().astimezone() + timedelta(minutes=CHECK_IN_MINUTES):
        raise StepFailed(f"Dr. Chen has no free slot starting within {CHECK_IN_MINUTES} minutes "
                         f"(first free: {slot['starts_at'] if slot else 'none'}); "
                         "run `python manage.py seed_demo` to add a demo session starting in a few minutes")
    booking = story.call("POST", "/api/bookings/", token=family, headers={"Idempotency-Key": f"demo-{phone}"}, json={
        "patient": pid, "slot": slot["id"], "reason": "高血压复诊，血压控制不佳 follow-up, BP poorly controlled"})
    story.say(f"booking #{booking['id']}: {slot['starts_at']}, queue number 序号 {booking['queue_number']}")

    story.step("At the appointed time she checks him in to the waiting room")
    story.call("POST", f"/api/bookings/{booking['id']}/check-in/", token=family)
    consultation = story.call("POST", "/api/consultations/", token=family, json={"booking": booking["id"]})
    cid = consultation["id"]
    story.say(f"checked in; consultation #{cid} is {consultation['status']}")

    story.step("Video consult: both join the signalling socket; the doctor admits them")
    doctor_token = story.login(DOCTOR_PHONE)
    authenticator = Authenticator(DEMO_TOTP_KEY)  # the app on Dr. Chen's phone
    # 互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult. The proof is
    # this token's, for DOCTOR_REAUTH_WINDOW_MINUTES; the socket's ticket carries it.
    proof = story.call("POST", "/api/auth/second-factor/verify/", token=doctor_token, json={"otp": authenticator.code()})
    story.say(f"Dr. Chen enters the code from his authenticator: verified until {proof['fresh_until'][11:16]}")
    with story.socket(cid, family) as family_ws, story.socket(cid, doctor_token) as doctor_ws:
        state = receive(family_ws, "state")
        receive(doctor_ws, "state")
        story.say(f"family in the waiting room (admitted: {state['admitted']}); Dr. Chen joins")
        doctor_ws.send(json.dumps({"v": 1, "type": "admit"}))
        receive(family_ws, "admitted")
        doctor_ws.send(json.dumps({"v": 1, "type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=demo offer\r\n"}))
        offer = receive(family_ws, "offer")
        family_ws.send(json.dumps({"v": 1, "type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=demo answer\r\n"}))
        receive(doctor_ws, "answer")
        for sender, receiver in ((doctor_ws, family_ws), (family_ws, doctor_ws)):
            sender.send(json.dumps({"v": 1, "type": "ice", "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}}))
            receive(receiver, "ice")
        story.say(f"offer from the {offer['from']['role']}, answer and ICE candidates relayed: the call is set up")

        story.step("Dr. Chen reads Zhang Lin's health record beside the video")
        record = story.call("GET", f"/api/patients/{pid}/record/", token=doctor_token)
        story.say("conditions: " + ", ".join(c["icd10_code"] for c in record["conditions"])
                  + f"; allergies: {', '.join(a['substance'] for a in record['allergies'])}; "
                  f"latest eGFR {record['latest_egfr']['value']}; last BP {record['blood_pressure'][0]['systolic']}/{record['blood_pressure'][0]['diastolic']}")

        story.step("He confirms this is a follow-up of the hypertension diagnosed at the hospital (复诊)")
        hypertension = next(c for c in record["conditions"] if c["icd10_code"] == "I10")
        confirmed = story.call("POST", f"/api/consultations/{cid}/confirm-follow-up/", token=doctor_token,
                               json={"condition": hypertension["id"]})
        story.say(f"follow-up of I10, diagnosed at {hypertension['diagnosed_institution']} on "
                  f"{hypertension['diagnosed_on']}: confirmed at {confirmed['follow_up_confirmed_at']}")

        story.step("Diagnosis and notes")
        story.call("PATCH", f"/api/consultations/{cid}/", token=doctor_token, json={
            "chief_complaint": "头晕，家测血压偏高 dizziness, high home readings",
            "notes": "BP above target on amlodipine 5 mg; CKD 3 (eGFR 48). Continue CCB, avoid NSAIDs.",
            "diagnosis": [{"code": "I10", "name": "原发性高血压 Essential hypertension"}, {"code": "N18.3", "name": "慢性肾脏病3期"}],
            "follow_up_advice": "Home BP twice daily; review in 4 weeks."})
        story.say("I10 and N18.3 recorded")

        story.step("He prescribes amlodipine; the safety checks catch ibuprofen when he tries it")
        drugs = {d["code"]: d for q in ("amlodipine", "ibuprofen") for d in story.call("GET", "/api/drugs/", token=doctor_token, params={"search": q})["results"]}
        # Plain amlodipine (a renewal of what he takes), not a fixed-dose combination containing it.
        amlodipine = drugs["AMLO-T5"]
        ibuprofen = next(d for d in drugs.values() if d["generic_name"].lower().startswith("ibuprofen"))
        rx = story.call("POST", "/api/prescriptions/", token=doctor_token, json={
            "consultation": cid, "diagnosis": [{"code": "I10", "name": "原发性高血压"}],
            "items": [{"drug": amlodipine["code"], "dose": "5", "dose_unit": "mg", "frequency": "qd", "days_supply": 30, "quantity": 30,
                       "instructions": "每日早晨一次 once every morning"}]})
        prescription = rx.get("prescription", rx)
        tried = story.call("POST", f"/api/prescriptions/{prescription['id']}/check/", token=doctor_token, json={"items": [
            {"drug": amlodipine["code"], "dose": "5", "dose_unit": "mg", "frequency": "qd", "days_supply": 30, "quantity": 30},
            {"drug": ibuprofen["code"], "dose": "600", "dose_unit": "mg", "frequency": "bid", "days_supply": 7, "quantity": 28}]})
        caught = [f for f in tried["findings"] if f["drug_code"] == ibuprofen["code"]]
        if not caught:
            raise StepFailed(f"ibuprofen was not caught: {tried}")
        for finding in caught:
            story.say(f"[{finding['severity']}] {finding['code']}: {finding['message']}")
        story.say(f"draft #{prescription['id']}: {amlodipine['generic_name_zh']} 5 mg qd × 30 days")

        story.step("He signs the prescription (Ed25519) and submits it to the cloud")
        # Signed in person: a fresh code in the signing request itself (no script signs).
        signed = story.call("POST", f"/api/prescriptions/{prescription['id']}/sign/", token=doctor_token,
                            json={"overrides": {}, "otp": authenticator.code()})
        signed = signed.get("prescription", signed)
        verify = story.call("GET", f"/api/prescriptions/{prescription['id']}/verify/", token=doctor_token)
        story.say(f"status {signed['status']}, key {signed.get('key_id')}, signature verifies: {verify.get('valid')}")

        story.step("He ends the consult; every socket in the room is closed")
        doctor_ws.send(json.dumps({"v": 1, "type": "end"}))
        receive(family_ws, "ended")
        story.say("consultation ended, booking completed")

    story.step("The review pharmacist (审方) approves it")
    pharmacist = story.login(PHARMACIST_PHONE)
    queue = story.call("GET", "/api/prescriptions/review-queue/", token=pharmacist)["results"]
    if prescription["id"] not in [p["id"] for p in queue]:
        raise StepFailed(f"prescription #{prescription['id']} is not in the review queue")
    approved = story.call("POST", f"/api/prescriptions/{prescription['id']}/approve/", token=pharmacist, json={})
    approved = approved.get("prescription", approved)
    story.say(f"prescription #{prescription['id']} {approved['status']}")

    story.step("The Gulou pharmacy's till syncs its stock through the pharmacy API (a delivery came in)")
    synced = story.call("PUT", "/api/pharmacy/stock/", token=PHARMACY_TOKEN, scheme="Pharmacy",
                        json=[{"drug_code": amlodipine["code"], "quantity": 240}, {"drug_code": "NOT-A-DRUG", "quantity": 5}])
    lines = synced.get("lines", synced.get("results", synced)) if isinstance(synced, dict) else synced
    story.say("per line: " + "; ".join(f"{line.get('drug_code')}: {line.get('result') or line.get('status')}" for line in lines))

    story.step("The family chooses home delivery; the nearest delivering pharmacy with stock takes it")
    nearby = story.call("GET", f"/api/prescriptions/{prescription['id']}/pharmacies/", token=family,
                        params={"lat": HOME["lat"], "lng": HOME["lng"]})
    count, nearby = nearby["count"], nearby["results"]
    story.say(f"{count} pharmacies have everything; nearest: {nearby[0]['name']} ({nearby[0]['distance_km']} km)")
    order = story.call("POST", "/api/orders/", token=family, json={
        "prescription": prescription["id"], "kind": "delivery", "address": HOME["address"], "lat": HOME["lat"], "lng": HOME["lng"],
        "contact_name": "张薇 Zhang Wei", "contact_phone": phone})
    story.say(f"order #{order['id']} to {order['pharmacy']['name']}, promised for {order['promised_date']}; status {order['status']}")

    story.step("The pharmacy, through its API token, verifies the signature and accepts")
    mine = story.call("GET", "/api/pharmacy/orders/", token=PHARMACY_TOKEN, scheme="Pharmacy")["results"]
    if order["id"] not in [o["id"] for o in mine]:
        raise StepFailed(f"order #{order['id']} did not reach the demo pharmacy's queue (it went to {order['pharmacy']['name']})")
    check = story.call("GET", f"/api/pharmacy/orders/{order['id']}/verify/", token=PHARMACY_TOKEN, scheme="Pharmacy")
    if not check["valid"]:
        raise StepFailed(f"the pharmacy could not verify the prescription: {check}")
    story.call("POST", f"/api/pharmacy/orders/{order['id']}/accept/", token=PHARMACY_TOKEN, scheme="Pharmacy", json={})
    story.say(f"signature valid ({check['algorithm']}, key {check['key_id']}); order accepted")

    story.step("It prepares the medicine and sends it out with a courier")
    story.call("POST", f"/api/pharmacy/orders/{order['id']}/preparing/", token=PHARMACY_TOKEN, scheme="Pharmacy", json={})
    story.call("POST", f"/api/pharmacy/orders/{order['id']}/out-for-delivery/", token=PHARMACY_TOKEN, scheme="Pharmacy", json={
        "courier_name": "王师傅 Wang", "courier_phone": "13600001234", "tracking_number": "SF1234567890"})
    story.say("out for delivery with SF1234567890")

    story.step("Next day: delivered to Zhang Lin's home")
    delivered = story.call("POST", f"/api/pharmacy/orders/{order['id']}/delivered/", token=PHARMACY_TOKEN, scheme="Pharmacy", json={
        "recipient_name": "张林 Zhang Lin", "pharmacist_name": "药师 Li"})
    story.say(f"order {delivered['status']}; dispensed and stock consumed")
    notices = story.call("GET", "/api/notifications/", token=family)["results"]
    story.say(f"the family received {len(notices)} notifications, latest: {notices[0].get('title') or notices[0].get('message') or notices[0]}")

    return {"family": family, "doctor": doctor_token, "patient": pid, "booking": booking["id"], "consultation": cid,
            "prescription": prescription["id"], "order": order["id"]}


def summary(story: Story, ids: dict) -> None:
    story.step("Where everything stands")
    booking = story.call("GET", f"/api/bookings/{ids['booking']}/", token=ids["family"])
    consultation = story.call("GET", f"/api/consultations/{ids['consultation']}/", token=ids["family"])
    prescription = story.call("GET", f"/api/prescriptions/{ids['prescription']}/", token=ids["family"])
    bundle = story.call("GET", f"/api/patients/{ids['patient']}/fhir/", token=ids["family"])
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        counts[entry["resource"]["resourceType"]] = counts.get(entry["resource"]["resourceType"], 0) + 1
    story.say(f"booking #{booking['id']}: {booking['status']}")
    story.say(f"consultation #{consultation['id']}: {consultation['status']}, diagnosis {', '.join(d['code'] for d in consultation['diagnosis'])}")
    story.say(f"prescription #{prescription['id']}: {prescription['status']}")
    order = story.call("GET", f"/api/orders/{ids['order']}/", token=ids["family"])
    story.say(f"order #{order['id']}: {order['status']} ({order['kind']}) by {order['pharmacy']['name']}, received {order['received_at']}")
    story.say("FHIR episode: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    present = {e["fullUrl"] for e in bundle["entry"]}  # urn:uuid, which the references use
    dangling = sorted({ref for ref in _references(bundle["entry"]) if ref not in present})
    if dangling:
        raise StepFailed(f"references that do not resolve inside the bundle: {dangling}")
    story.say(f"all {len(_references(bundle['entry']))} references resolve inside the bundle")


def _references(node) -> list[str]:
    if isinstance(node, dict):
        return [node["reference"]] if isinstance(node.get("reference"), str) else [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def start_local(workdir: Path) -> tuple[str, list]:
    """A fresh server (and, with REDIS_URL, a Celery worker) with the demo data loaded."""
    env = {k: v for k, v in os.environ.items()}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="cloudhospital.settings", LOG_LEVEL="WARNING")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        from bench._setup import bench_database

        env["DATABASE_URL"] = bench_database(database_url, "ch_demo", recreate=True)
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.sqlite3'}"
    where = env["DATABASE_URL"].split("@")[-1]
    print(f"Starting a fresh server: database {where}; " + (f"Redis {env['REDIS_URL']} with a Celery worker" if env.get("REDIS_URL") else "in-memory channel layer, eager Celery"))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    processes = []
    if env.get("REDIS_URL"):
        env["CELERY_EAGER"] = "0"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cloudhospital", "worker", "--pool=solo", "--loglevel=warning"],
            cwd=ROOT, env=env, stdout=open(workdir / "worker.log", "w"), stderr=subprocess.STDOUT))
    port = free_port()
    processes.append(start_server(env, port, workdir / "server.log"))
    return f"http://127.0.0.1:{port}", processes


def main() -> int:
    parser = argparse.ArgumentParser(description="Zhang Lin's day through the public API.")
    parser.add_argument("--base-url", help="run against this server instead of starting one")
    args = parser.parse_args()
    processes: list = []
    workdir = Path(tempfile.mkdtemp(prefix="zhang-lin-demo-"))
    try:
        base = args.base_url or None
        if base is None:
            base, processes = start_local(workdir)
        story = Story(base)
        ids = run(story)
        summary(story, ids)
    except StepFailed as exc:
        print(f"\nFAILED at step {story.number}: {exc}", file=sys.stderr)
        if processes:
            print(f"(server and worker logs in {workdir})", file=sys.stderr)
        return 1
    finally:
        stop(*processes)
    print("\nZhang Lin's day is complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
