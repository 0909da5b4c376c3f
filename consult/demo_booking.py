"""Demo data for the booking desk: Ningbo hospitals, cloud clinics, doctors with weekly
schedules, their slots, and Zhang Lin's follow-up booking with Dr. Chen Xiaomin today, in a
demo session that starts a few minutes after seeding (so check-in is open at once).

`scale="full"` grows the network to the real one's size (19 hospitals, 240 clinics, 3,000
doctors, 14 days of slots) in bulk, with a progress bar. Idempotent at both scales:
hospitals and clinics are found by name, doctors by their login's phone, and slot
generation is a diff. Run again after the demo day has been played (the visit completed, the
session full), it books Zhang Lin a fresh visit in a new session instead of failing.
"""

import random
from datetime import time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.utils import bulk_create_with_history
from tqdm import tqdm

from cloudhospital.models import Role
from consult import booking as booking_rules
from consult import windows
from consult.models import (ACTIVE_BOOKING_STATUSES, Booking, Clinic, Doctor, DoctorRegistration, Hospital,
                            ScheduleTemplate, Slot)
from consult.schedules import slots_generate

HOSPITALS = [
    ("宁波市第一医院", "宁波市海曙区柳汀街 59 号"),
    ("宁波市医疗中心李惠利医院", "宁波市鄞州区兴宁路 57 号"),
    ("宁波大学附属第一医院", "宁波市海曙区人民路 247 号"),
    ("宁波市第二医院", "宁波市海曙区西北街 41 号"),
    ("宁波市中医院", "宁波市海曙区丽园北路 819 号"),
    ("宁波市妇女儿童医院", "宁波市海曙区柳汀街 339 号"),
    ("宁波市康宁医院", "宁波市江北区北环东路 1 号"),
    ("宁波市第六医院", "宁波市江东区中山东路 1059 号"),
    ("宁波市鄞州人民医院", "宁波市鄞州区百丈东路 251 号"),
    ("宁波市鄞州第二医院", "宁波市鄞州区前河北路 998 号"),
    ("宁波市北仑区人民医院", "宁波市北仑区新碶庐山东路 1288 号"),
    ("宁波市镇海区人民医院", "宁波市镇海区骆驼街道盛兴路 718 号"),
    ("宁波市奉化区人民医院", "宁波市奉化区中山东路 36 号"),
    ("余姚市人民医院", "余姚市城东路 800 号"),
    ("慈溪市人民医院", "慈溪市浒山街道南二环东路 999 号"),
    ("宁海县第一医院", "宁海县桃源街道健康路 142 号"),
    ("象山县第一人民医院", "象山县丹东街道靖南路 291 号"),
    ("宁波市第九医院", "宁波市江北区孔浦路 68 号"),
    ("宁波市泌尿肾病专科医院", "宁波市海曙区环城西路南段 68 号"),
]

# Names are data in both languages (Hospital.name_en, Clinic.name_en): the English ones.
HOSPITAL_NAMES_EN = {
    "宁波市第一医院": "Ningbo First Hospital",
    "宁波市医疗中心李惠利医院": "Ningbo Medical Center Lihuili Hospital",
    "宁波大学附属第一医院": "The First Affiliated Hospital of Ningbo University",
    "宁波市第二医院": "Ningbo No. 2 Hospital",
    "宁波市中医院": "Ningbo Hospital of Traditional Chinese Medicine",
    "宁波市妇女儿童医院": "Ningbo Women and Children's Hospital",
    "宁波市康宁医院": "Ningbo Kangning Hospital",
    "宁波市第六医院": "Ningbo No. 6 Hospital",
    "宁波市鄞州人民医院": "Ningbo Yinzhou People's Hospital",
    "宁波市鄞州第二医院": "Ningbo Yinzhou No. 2 Hospital",
    "宁波市北仑区人民医院": "Ningbo Beilun People's Hospital",
    "宁波市镇海区人民医院": "Ningbo Zhenhai People's Hospital",
    "宁波市奉化区人民医院": "Ningbo Fenghua People's Hospital",
    "余姚市人民医院": "Yuyao People's Hospital",
    "慈溪市人民医院": "Cixi People's Hospital",
    "宁海县第一医院": "Ninghai First Hospital",
    "象山县第一人民医院": "Xiangshan First People's Hospital",
    "宁波市第九医院": "Ningbo No. 9 Hospital",
    "宁波市泌尿肾病专科医院": "Ningbo Urology and Nephrology Hospital",
}
CLINIC_NAMES_EN = {
    "高血压云诊室": "Hypertension cloud clinic",
    "糖尿病云诊室": "Diabetes cloud clinic",
    "慢性肾病云诊室": "Chronic kidney disease cloud clinic",
    "全科云诊室": "General practice cloud clinic",
    "冠心病云诊室": "Coronary heart disease cloud clinic",
    "慢阻肺云诊室": "COPD cloud clinic",
    "老年病云诊室": "Geriatrics cloud clinic",
    "甲状腺云诊室": "Thyroid cloud clinic",
    "胃肠病云诊室": "Gastroenterology cloud clinic",
    "脑血管病云诊室": "Cerebrovascular disease cloud clinic",
    "痛风云诊室": "Gout cloud clinic",
    "皮肤病云诊室": "Dermatology cloud clinic",
    "儿童保健云诊室": "Child health cloud clinic",
    "妇科云诊室": "Gynaecology cloud clinic",
    "心理咨询云诊室": "Psychological counselling cloud clinic",
    "肿瘤随访云诊室": "Oncology follow-up cloud clinic",
    "中医调理云诊室": "Traditional Chinese medicine cloud clinic",
}

# (name, specialty, ICD-10 ranges, follow-up only)
CLINIC_KINDS = [
    ("高血压云诊室", "cardiology", "I10-I15", True),
    ("糖尿病云诊室", "endocrinology", "E10-E14", True),
    ("慢性肾病云诊室", "nephrology", "N18-N19", True),
    ("全科云诊室", "general_practice", "", False),
    ("冠心病云诊室", "cardiology", "I20-I25", True),
    ("慢阻肺云诊室", "respiratory", "J44, J45", True),
    ("老年病云诊室", "geriatrics", "", False),
    ("甲状腺云诊室", "endocrinology", "E00-E07", True),
    ("胃肠病云诊室", "gastroenterology", "K20-K31, K50-K52", True),
    ("脑血管病云诊室", "neurology", "I60-I69", True),
    ("痛风云诊室", "rheumatology", "M10", True),
    ("皮肤病云诊室", "dermatology", "L20-L30", False),
    ("儿童保健云诊室", "pediatrics", "", False),
    ("妇科云诊室", "gynecology", "", False),
    ("心理咨询云诊室", "psychiatry", "F32-F41", True),
    ("肿瘤随访云诊室", "oncology", "C00-C97", True),
    ("中医调理云诊室", "tcm", "", False),
]

# Small scale: (hospital index, clinic kind indexes)
SMALL_CLINICS = {0: [0, 1, 2, 3], 1: [4, 5], 2: [6, 7]}

CHEN = {
    "phone": "13900000010", "full_name": "陈晓敏 Chen Xiaomin", "title": "chief", "licence": "110330200000001",
    "fee": Decimal("50"), "clinics": [(0, 0)],
    "bio": "宁波市第一医院心血管内科主任医师，从事高血压及其靶器官损害的诊治三十余年，擅长老年难治性高血压与合并慢性肾病患者的降压管理。",
}
# (phone, name, title, licence, fee, [(hospital, clinic kind)], verified, bio)
SMALL_DOCTORS = [
    ("13900000012", "王建国 Wang Jianguo", "associate_chief", "110330200000002", "40", [(0, 1)], True, "内分泌科副主任医师，糖尿病及并发症管理。"),
    ("13900000013", "李敏 Li Min", "attending", "110330200000003", "20", [(0, 3)], True, "全科主治医师，慢病随访与用药咨询。"),
    ("13900000014", "赵磊 Zhao Lei", "chief", "110330200000004", "50", [(0, 2)], True, "肾内科主任医师，慢性肾脏病一体化管理。"),
    ("13900000015", "周婷 Zhou Ting", "associate_chief", "110330200000005", "40", [(1, 4)], True, "心内科副主任医师，冠心病二级预防。"),
    ("13900000016", "孙浩 Sun Hao", "attending", "110330200000006", "25", [(1, 5)], True, "呼吸内科主治医师，慢阻肺与哮喘长期管理。"),
    ("13900000017", "吴芳 Wu Fang", "chief", "110330200000007", "45", [(2, 6)], True, "老年病科主任医师，多病共存老人的用药整合。"),
    ("13900000018", "钱进 Qian Jin", "resident", "110330200000008", "15", [(2, 7)], False, "住院医师（执业资格审核中）。"),
]
HOSPITAL_ADMIN = {"phone": "13900000011", "full_name": "宁波市第一医院 管理员 Admin"}

# Realistic weekly sessions: (weekday, start, end, slot minutes, capacity)
CHEN_SESSIONS = [
    (0, time(8, 30), time(11, 30), 15, 2),
    (1, time(14, 0), time(16, 30), 15, 2),
    (2, time(8, 30), time(11, 30), 15, 2),
    (4, time(8, 30), time(11, 30), 15, 2),
]
SESSION_SHAPES = [
    (time(8, 0), time(11, 30), 15, 2),
    (time(8, 30), time(11, 30), 20, 3),
    (time(13, 30), time(16, 30), 15, 2),
    (time(14, 0), time(17, 0), 30, 4),
    (time(18, 30), time(20, 30), 15, 1),  # evening follow-ups for working families
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红蛾玲兰建国晓东海波斌宇浩凯鹏飞辉健俊帆欣怡婷雪琳颖晨"
TITLES = ["chief", "associate_chief", "attending", "attending", "resident"]
FEES = {"chief": Decimal("50"), "associate_chief": Decimal("35"), "attending": Decimal("20"), "resident": Decimal("10")}
FULL = {"hospitals": 19, "clinics": 240, "doctors": 3000}
FULL_PHONE_PREFIX = "+86136"  # 137 and 138 belong to other demo seeders


def _user(phone: str, full_name: str, role: str, password: str):
    User = get_user_model()
    user = User.objects.filter(phone="+86" + phone).first()
    return user or User.objects.create_user(phone, password, full_name=full_name, role=role)


def _hospitals(count: int) -> list[Hospital]:
    hospitals = []
    for name, address in HOSPITALS[:count]:
        hospital, _ = Hospital.objects.get_or_create(name=name, defaults={"address": address})
        if not hospital.name_en and name in HOSPITAL_NAMES_EN:  # a database seeded before the English names
            hospital.name_en = HOSPITAL_NAMES_EN[name]
            hospital.save(update_fields=["name_en"])
        hospitals.append(hospital)
    return hospitals


def _clinic(hospital: Hospital, kind: int) -> Clinic:
    name, specialty, ranges, follow_up = CLINIC_KINDS[kind]
    clinic, _ = Clinic.objects.get_or_create(
        hospital=hospital, name=name,
        defaults={"specialty": specialty, "icd10_ranges": ranges, "follow_up_only": follow_up,
                  "description": f"{hospital.name}{name}：复诊患者在线问诊、续方与用药指导。"},
    )
    if not clinic.name_en and name in CLINIC_NAMES_EN:  # a database seeded before the English names
        clinic.name_en = CLINIC_NAMES_EN[name]
        clinic.save(update_fields=["name_en"])
    return clinic


def _doctor(user, hospital: Hospital, clinics: list[Clinic], *, title, licence, fee, verified, bio) -> Doctor:
    doctor = Doctor.objects.filter(user=user).first()
    if doctor is None:
        doctor = Doctor.objects.create(user=user, hospital=hospital, title=title, licence_number=licence,
                                       fee=Decimal(fee), verified=verified, bio=bio)
        doctor.clinics.add(*clinics)
    _qualify(doctor, {hospital, *(clinic.hospital for clinic in clinics)})
    demo_authenticator(user)
    return doctor


# Who may practise online (consult.doctors): years of independent practice by title, and a
# registration at every hospital whose clinics the doctor works in. The resident in the
# demo has one year and so stays out of the directory.
PRACTICE_YEARS = {"chief": 30, "associate_chief": 15, "attending": 8, "resident": 1}
SCOPES = {"tcm": "中医专业", "oncology": "肿瘤科专业", "pediatrics": "儿科专业"}
# The demo doctors' authenticator (cloudhospital.step_up): one published key for every demo
# doctor, RFC 6238's test secret "12345678901234567890" (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ).
# `python manage.py demo_totp <phone>` prints the code it shows now. Never in production.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"


def _qualify(doctor: Doctor, hospitals) -> None:
    if doctor.independent_practice_since is None:
        years = PRACTICE_YEARS.get(doctor.title, 5)
        doctor.independent_practice_since = timezone.localdate() - timedelta(days=round(365.25 * years))
        first = doctor.clinics.order_by("id").first()
        doctor.practice_scope = SCOPES.get(first.specialty if first else "", "内科专业")
        doctor.save(update_fields=["independent_practice_since", "practice_scope"])
    for hospital in hospitals:
        DoctorRegistration.objects.get_or_create(doctor=doctor, hospital=hospital, defaults={
            "registered_on": doctor.independent_practice_since})


def demo_authenticator(user):
    """The demo doctor's authenticator with the published DEMO_TOTP_KEY, its clock reset on
    every seed (a demo replayed later starts from the current code)."""
    TOTPDevice.objects.filter(user=user).exclude(key=DEMO_TOTP_KEY).delete()
    device, _created = TOTPDevice.objects.update_or_create(
        user=user, key=DEMO_TOTP_KEY, defaults={"name": "authenticator", "confirmed": True, "drift": 0, "last_t": -1,
                                                "throttling_failure_count": 0, "throttling_failure_timestamp": None})
    return device


def _sessions(doctor: Doctor, clinic: Clinic, sessions) -> None:
    if doctor.schedule_templates.exists():
        return
    ScheduleTemplate.objects.bulk_create(
        ScheduleTemplate(doctor=doctor, clinic=clinic, weekday=weekday, start_time=start, end_time=end,
                         slot_minutes=minutes, capacity=capacity, fee=doctor.fee)
        for weekday, start, end, minutes, capacity in sessions
    )


def _small_network(password: str) -> dict:
    hospitals = _hospitals(3)
    clinics = {(h, k): _clinic(hospitals[h], k) for h, kinds in SMALL_CLINICS.items() for k in kinds}
    rng = random.Random(59)
    chen_user = _user(CHEN["phone"], CHEN["full_name"], Role.DOCTOR, password)
    chen = _doctor(chen_user, hospitals[0], [clinics[(0, 0)], clinics[(0, 3)]], title=CHEN["title"],
                   licence=CHEN["licence"], fee=CHEN["fee"], verified=True, bio=CHEN["bio"])
    _sessions(chen, clinics[(0, 0)], CHEN_SESSIONS)
    for phone, name, title, licence, fee, places, verified, bio in SMALL_DOCTORS:
        user = _user(phone, name, Role.DOCTOR, password)
        doctor_clinics = [clinics[place] for place in places]
        doctor = _doctor(user, doctor_clinics[0].hospital, doctor_clinics, title=title, licence=licence, fee=fee,
                         verified=verified, bio=bio)
        weekdays = rng.sample(range(6), 3)
        shapes = rng.sample(SESSION_SHAPES[:4], 2)
        _sessions(doctor, doctor_clinics[0], [(day, *shapes[i % 2]) for i, day in enumerate(weekdays)])
    admin = _user(HOSPITAL_ADMIN["phone"], HOSPITAL_ADMIN["full_name"], Role.HOSPITAL_ADMIN, password)
    hospitals[0].admins.add(admin)
    return {"chen": chen, "hypertension_clinic": clinics[(0, 0)], "hospital": hospitals[0], "hospital_admin": admin}


def _doctor_name(index: int) -> str:
    surname = SURNAMES[index % len(SURNAMES)]
    given = GIVEN[(index * 7) % len(GIVEN)] + ("" if index % 3 == 0 else GIVEN[(index * 13 + 5) % len(GIVEN)])
    return surname + given


def _full_network(stdout) -> None:
    """Grow to the real network's size in bulk: no per-row saves, no password hashing."""
    hospitals = _hospitals(FULL["hospitals"])
    existing_clinics = Clinic.objects.count()
    for index in range(FULL["clinics"]):
        if existing_clinics >= FULL["clinics"]:
            break
        hospital = hospitals[index % len(hospitals)]
        kind = (index // len(hospitals)) % len(CLINIC_KINDS)
        if not Clinic.objects.filter(hospital=hospital, name=CLINIC_KINDS[kind][0]).exists():
            _clinic(hospital, kind)
            existing_clinics += 1
    clinics = list(Clinic.objects.select_related("hospital").order_by("id"))
    missing = FULL["doctors"] - Doctor.objects.count()
    if missing > 0:
        _bulk_doctors(missing, clinics, stdout)


def _bulk_doctors(count: int, clinics: list[Clinic], stdout) -> None:
    User = get_user_model()
    rng = random.Random(3000)
    taken = set(User.objects.filter(phone__startswith=FULL_PHONE_PREFIX).values_list("phone", flat=True))
    phones = [p for p in (f"{FULL_PHONE_PREFIX}{i:08d}" for i in range(count + len(taken))) if p not in taken][:count]
    unusable = make_password(None)  # doctors set their own password on first login
    User.objects.bulk_create(
        [User(phone=phone, full_name=_doctor_name(i + len(taken)), role=Role.DOCTOR, password=unusable)
         for i, phone in enumerate(phones)],
        batch_size=1000,
    )
    users = list(User.objects.filter(phone__in=phones).order_by("id"))
    doctors = []
    for i, user in enumerate(tqdm(users, desc="doctors", unit="doctor", file=stdout)):
        clinic = clinics[(i + len(taken)) % len(clinics)]
        title = TITLES[rng.randrange(len(TITLES))]
        doctors.append(Doctor(
            user=user, hospital=clinic.hospital, title=title, licence_number=f"1103302{int(user.phone[-8:]) + 10000000:08d}",
            verified=rng.random() < 0.97, fee=FEES[title], bio=f"{clinic.hospital.name}{clinic.get_specialty_display().split()[0]}医师。",
            independent_practice_since=timezone.localdate() - timedelta(days=round(365.25 * PRACTICE_YEARS.get(title, 5))),
            practice_scope=SCOPES.get(clinic.specialty, "内科专业"),
        ))
        doctors[-1]._clinic = clinic
    bulk_create_with_history(doctors, Doctor, batch_size=1000)
    created = {d.user_id: d for d in Doctor.objects.filter(user__in=users)}
    Doctor.clinics.through.objects.bulk_create(
        [Doctor.clinics.through(doctor_id=created[d.user_id].pk, clinic_id=d._clinic.pk) for d in doctors], batch_size=2000
    )
    bulk_create_with_history(
        [DoctorRegistration(doctor=created[d.user_id], hospital_id=d._clinic.hospital_id,
                            registered_on=d.independent_practice_since) for d in doctors],
        DoctorRegistration, batch_size=2000)
    templates = []
    for doctor in doctors:
        saved = created[doctor.user_id]
        for weekday in rng.sample(range(6), 2):
            start, end, minutes, capacity = SESSION_SHAPES[rng.randrange(len(SESSION_SHAPES))]
            templates.append(ScheduleTemplate(doctor=saved, clinic=doctor._clinic, weekday=weekday, start_time=start,
                                              end_time=end, slot_minutes=minutes, capacity=capacity, fee=saved.fee))
    bulk_create_with_history(templates, ScheduleTemplate, batch_size=2000)


# The demo session: one extra slot of Dr. Chen's, starting a few minutes after seeding, so
# that right after `make run` the family can check in (BOOKING_CHECK_IN_OPENS_MINUTES before
# the start) and both sides can join the room (CONSULT_JOIN_BEFORE_MINUTES), as the README's
# walkthrough and demo/zhang_lin.py do. Its places serve Zhang Lin and repeated demo runs;
# a new session is added when the last one is full or its check-in has closed.
DEMO_SESSION_LEAD_MINUTES = 10
DEMO_SESSION_MINUTES = 60
DEMO_SESSION_CAPACITY = 20


def _demo_session(chen: Doctor, clinic: Clinic, now) -> Slot:
    """A slot of Dr. Chen's in `clinic` whose check-in and room are open now and which has a
    place left: the last demo session if it still qualifies, else a new one."""
    current = [
        slot for slot in Slot.objects.filter(
            windows.HAS_FREE_PLACE, doctor=chen, clinic=clinic, template__isnull=True, starts_at__gt=now,
            starts_at__lte=now + timedelta(days=1),
        ).order_by("-ends_at")
        if windows.check_in_opens(slot) <= now and windows.join_window_opens(slot) <= now
    ]
    if current:
        return current[0]
    lead = min(DEMO_SESSION_LEAD_MINUTES, settings.BOOKING_CHECK_IN_OPENS_MINUTES, settings.CONSULT_JOIN_BEFORE_MINUTES)
    latest = (now + timedelta(minutes=lead)).replace(second=0, microsecond=0)
    # Template slots or earlier sessions may hold a start time (unique per doctor): step back
    # a minute at a time, staying after now and so inside the check-in window.
    taken = set(Slot.objects.filter(doctor=chen, starts_at__gt=now, starts_at__lte=latest).values_list("starts_at", flat=True))
    starts = [latest - timedelta(minutes=back) for back in range(max(lead, 1))]
    start = next((s for s in starts if s > now and s not in taken), None)
    if start is None:
        start = latest + timedelta(minutes=1)  # lead 0: opens at the start, a minute from now
    return Slot.objects.create(
        doctor=chen, clinic=clinic, starts_at=start, ends_at=start + timedelta(minutes=DEMO_SESSION_MINUTES),
        capacity=DEMO_SESSION_CAPACITY, fee=chen.fee,
    )


def _zhang_lins_booking(zhang_lin, daughter, chen: Doctor, clinic: Clinic, now):
    """Zhang Lin's follow-up with Dr. Chen today, booked by his daughter, in the demo session
    so that the family can check in now. An active booking of his with Dr. Chen that can be
    checked in to now, or another one today in this clinic (one a day), is kept instead."""
    active = zhang_lin.bookings.filter(slot__doctor=chen, status__in=ACTIVE_BOOKING_STATUSES, slot__ends_at__gt=now)
    for booking in active.select_related("slot").order_by("slot__starts_at"):
        if windows.check_in_opens(booking.slot) <= now:
            return booking
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = zhang_lin.bookings.filter(
        slot__clinic=clinic, status__in=ACTIVE_BOOKING_STATUSES,
        slot__starts_at__gte=day_start, slot__starts_at__lt=day_start + timedelta(days=1),
    ).select_related("slot").first()
    if same_day is not None:
        return same_day
    booking, _ = booking_rules.booking_create(
        by=daughter.account, patient=zhang_lin, slot=_demo_session(chen, clinic, now),
        reason="高血压复诊：近两周家庭自测血压 150/85 左右偏高，续开苯磺酸氨氯地平并评估肾功能。",
    )
    return booking


def visit_summary(booking: Booking, session: Slot) -> str:
    """What `seed_demo` prints about today's visit: when, and when check-in opens."""
    def at(moment) -> str:
        return f"{timezone.localtime(moment):%H:%M}"

    slot = booking.slot
    return (
        f"  Zhang Lin's visit: booking #{booking.pk} ({booking.get_status_display()}) with Dr. Chen, "
        f"{timezone.localtime(slot.starts_at):%Y-%m-%d %H:%M}-{at(slot.ends_at)}, queue number {booking.queue_number}; "
        f"check-in open from {at(windows.check_in_opens(slot))} until {at(slot.ends_at)} (the daughter, on /patient/)\n"
        f"  Demo session: slot #{session.pk}, {at(session.starts_at)}-{at(session.ends_at)}, "
        f"{windows.places_left(session)} of {session.capacity} places free (demo/zhang_lin.py books here); "
        f"run seed_demo again for a new one once it is full or over"
    )


def seed(*, scale: str = "small", people: dict, password: str, stdout=None) -> dict:
    """Create the booking desk's demo data; `people` are consult.demo.seed's patients."""
    objects = _small_network(password)
    if scale == "full":
        _full_network(stdout)
    doctors = Doctor.objects.count() if scale == "full" else None
    with tqdm(total=doctors or Doctor.objects.count(), desc="slots", unit="doctor", file=stdout,
              disable=scale != "full") as bar:
        result = slots_generate(progress=bar.update)
    now = timezone.now()
    booking = _zhang_lins_booking(people["zhang_lin"], people["daughter"], objects["chen"], objects["hypertension_clinic"], now)
    # Room for one more after Zhang Lin: the demo script's own family books here.
    session = _demo_session(objects["chen"], objects["hypertension_clinic"], now)
    if stdout:
        stdout.write(
            f"  booking desk: {Hospital.objects.count()} hospitals, {Clinic.objects.count()} clinics, "
            f"{Doctor.objects.count()} doctors, {Slot.objects.count()} slots ({result.created} new)"
        )
    return {**objects, "zhang_lin_booking": booking, "demo_session": session}
