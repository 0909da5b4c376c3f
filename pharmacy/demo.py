"""Demo pharmacies around Ningbo (Haishu, Jiangbei, Yinzhou) with stock of the formulary.

Idempotent: pharmacies are upserted by licence number, opening hours are written only for
a pharmacy that has none, and only missing stock rows are added (quantities already there
are left alone, as a pharmacy's own uploads would have changed them). Run after the
formulary seed: every active Drug is stocked, whatever the formulary holds.

`scale="full"` adds `full_count` (2,000) generated pharmacies across the city, in bulk.
"""

import random
from datetime import time

from django.contrib.auth import get_user_model
from django.db.models import Q

from cloudhospital.audit import stamp
from cloudhospital.models import Role
from consult.demo import DEMO_PASSWORD
from cloudhospital.permissions import SYSTEM
from pharmacy.access import staff_add, token_create, token_hash
from pharmacy.models import OpeningHours, Pharmacy, PharmacyApiToken, Stock
from prescriptions.models import Drug

DEMO_TOKEN = "chp_demo_kangning_gulou_not_for_production"
STAFF_PHONE = "13700000001"
PHARMACIST_PHONE = "13700000002"

DAILY = [(day, time(8), time(22)) for day in range(7)]
ALL_DAY = [(day, time(0), time(0)) for day in range(7)]
OFFICE = [(day, time(8, 30), time(12)) for day in range(6)] + [(day, time(13, 30), time(20)) for day in range(6)]
SHORT_SUNDAY = [(day, time(8), time(20)) for day in range(6)] + [(6, time(9), time(17))]

PHARMACIES = [
    {
        "licence_number": "浙CB5740101", "name": "康宁大药房（鼓楼店）Kangning Pharmacy, Gulou",
        "address": "浙江省宁波市海曙区中山西路 138 号", "district": "海曙区 Haishu", "phone": "0574-87310101",
        "latitude": 29.8745, "longitude": 121.5468, "delivers": True, "delivery_radius_km": 8,
        "delivery_cutoff": time(18), "hours": DAILY,
    },
    {
        "licence_number": "浙CB5740102", "name": "仁心药房（天一广场店）Renxin Pharmacy, Tianyi Square",
        "address": "浙江省宁波市海曙区药行街 56 号", "district": "海曙区 Haishu", "phone": "0574-87310102",
        "latitude": 29.8689, "longitude": 121.5561, "delivers": False, "delivery_radius_km": 0,
        "delivery_cutoff": time(18), "hours": [(day, time(8, 30), time(21, 30)) for day in range(7)],
    },
    {
        "licence_number": "浙CB5740103", "name": "平安24小时药房（月湖店）Ping'an 24h Pharmacy, Yuehu",
        "address": "浙江省宁波市海曙区镇明路 210 号", "district": "海曙区 Haishu", "phone": "0574-87310103",
        "latitude": 29.8709, "longitude": 121.5392, "delivers": True, "delivery_radius_km": 5,
        "delivery_cutoff": time(18), "hours": ALL_DAY,
    },
    {
        "licence_number": "浙CB5740201", "name": "济生药房（老外滩店）Jisheng Pharmacy, Old Bund",
        "address": "浙江省宁波市江北区人民路 132 号", "district": "江北区 Jiangbei", "phone": "0574-87310201",
        "latitude": 29.8876, "longitude": 121.5574, "delivers": True, "delivery_radius_km": 6,
        "delivery_cutoff": time(18), "hours": [(day, time(8), time(21)) for day in range(7)],
    },
    {
        "licence_number": "浙CB5740202", "name": "百草堂药房（孔浦店）Baicaotang Pharmacy, Kongpu",
        "address": "浙江省宁波市江北区大庆南路 355 号", "district": "江北区 Jiangbei", "phone": "0574-87310202",
        "latitude": 29.9032, "longitude": 121.5651, "delivers": False, "delivery_radius_km": 0,
        "delivery_cutoff": time(18), "hours": OFFICE,
    },
    {
        "licence_number": "浙CB5740301", "name": "惠民大药房（鄞州万达店）Huimin Pharmacy, Yinzhou Wanda",
        "address": "浙江省宁波市鄞州区四明中路 999 号", "district": "鄞州区 Yinzhou", "phone": "0574-87310301",
        "latitude": 29.8198, "longitude": 121.5603, "delivers": True, "delivery_radius_km": 10,
        "delivery_cutoff": time(18), "hours": [(day, time(9), time(22)) for day in range(7)],
    },
    {
        "licence_number": "浙CB5740302", "name": "康乐药房（南部商务区店）Kangle Pharmacy, Southern CBD",
        "address": "浙江省宁波市鄞州区天童南路 588 号", "district": "鄞州区 Yinzhou", "phone": "0574-87310302",
        "latitude": 29.8128, "longitude": 121.5551, "delivers": False, "delivery_radius_km": 0,
        "delivery_cutoff": time(18), "hours": SHORT_SUNDAY,
    },
    {
        "licence_number": "浙CB5740303", "name": "益寿堂药房（东部新城店）Yishoutang Pharmacy, Eastern New Town",
        "address": "浙江省宁波市鄞州区宁东路 268 号", "district": "鄞州区 Yinzhou", "phone": "0574-87310303",
        "latitude": 29.8680, "longitude": 121.6090, "delivers": True, "delivery_radius_km": 7,
        "delivery_cutoff": time(17), "hours": DAILY,
    },
]

# Generated pharmacies for --scale full: the built-up area of the three districts.
CITY_BOX = {"lat": (29.76, 29.96), "lng": (121.44, 121.66)}


def _upsert_pharmacy(spec: dict, by) -> Pharmacy:
    values = {key: value for key, value in spec.items() if key not in {"licence_number", "hours"}}
    pharmacy = Pharmacy.objects.filter(licence_number=spec["licence_number"]).first()
    if pharmacy is None:
        pharmacy = Pharmacy(licence_number=spec["licence_number"], **values)
    elif all(getattr(pharmacy, key) == value for key, value in values.items()):
        return pharmacy
    else:
        for key, value in values.items():
            setattr(pharmacy, key, value)
    stamp(pharmacy, by=by, reason="demo data")
    pharmacy.save()
    return pharmacy


def _hours_for_new(pharmacies_hours: list[tuple[Pharmacy, list]]) -> None:
    with_hours = set(
        OpeningHours.objects.filter(pharmacy__in=[p for p, _ in pharmacies_hours]).values_list("pharmacy_id", flat=True)
    )
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(pharmacy=pharmacy, weekday=day, opens=opens, closes=closes)
            for pharmacy, hours in pharmacies_hours
            if pharmacy.pk not in with_hours
            for day, opens, closes in hours
        ]
    )


def _stock_missing(pharmacies: list[Pharmacy], rng: random.Random) -> int:
    """Add a stock row for every active drug a pharmacy lacks. Quantities vary, and about one
    line in twelve is empty, so the nearest pharmacy does not always have everything."""
    drugs = list(Drug.objects.filter(active=True).order_by("code").values_list("pk", flat=True))
    present = set(Stock.objects.filter(pharmacy__in=pharmacies).values_list("pharmacy_id", "drug_id"))
    rows = [
        Stock(pharmacy=pharmacy, drug_id=drug_id, on_hand=0 if rng.random() < 0.08 else rng.randint(5, 200))
        for pharmacy in pharmacies
        for drug_id in drugs
        if (pharmacy.pk, drug_id) not in present
    ]
    Stock.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _demo_user(phone: str, full_name: str, role: str):
    User = get_user_model()
    user = User.objects.filter(phone=f"+86{phone}").first()
    return user or User.objects.create_user(phone, DEMO_PASSWORD, full_name=full_name, role=role)


def _generated(count: int, rng: random.Random) -> list[Pharmacy]:
    licences = [f"浙CB59{n:05d}" for n in range(count)]
    existing = set(Pharmacy.objects.filter(licence_number__in=licences).values_list("licence_number", flat=True))
    districts = ["海曙区 Haishu", "江北区 Jiangbei", "鄞州区 Yinzhou"]
    new = []
    for n, licence in enumerate(licences):
        lat, lng = rng.uniform(*CITY_BOX["lat"]), rng.uniform(*CITY_BOX["lng"])
        delivers = rng.random() < 0.35
        radius = rng.choice([5, 6, 8, 10])
        if licence in existing:
            continue
        new.append(
            Pharmacy(
                licence_number=licence, name=f"社区药房 Community Pharmacy No. {n + 1}",
                address=f"浙江省宁波市 社区药房 {n + 1} 号", district=districts[n % 3],
                latitude=round(lat, 6), longitude=round(lng, 6), delivers=delivers,
                delivery_radius_km=radius if delivers else 0, delivery_cutoff=time(18),
            )
        )
    Pharmacy.objects.bulk_create(new, batch_size=1000)
    created = list(Pharmacy.objects.filter(licence_number__in=[p.licence_number for p in new]))
    _hours_for_new([(pharmacy, DAILY) for pharmacy in created])
    return list(Pharmacy.objects.filter(licence_number__in=licences))


def seed(*, scale: str = "small", full_count: int = 2000, by=SYSTEM, stdout=None) -> dict:
    """Create the demo pharmacies, their staff, a demo API token and stock. Returns the key
    objects for later seeders."""
    rng = random.Random(606)
    pharmacies = [_upsert_pharmacy(spec, by) for spec in PHARMACIES]
    _hours_for_new([(pharmacy, spec["hours"]) for pharmacy, spec in zip(pharmacies, PHARMACIES)])
    stocked = _stock_missing(pharmacies, rng)
    gulou = pharmacies[0]
    staff = _demo_user(STAFF_PHONE, "药房员工 Demo Pharmacy Staff", Role.PHARMACY_STAFF)
    pharmacist = _demo_user(PHARMACIST_PHONE, "药师 Demo Pharmacist", Role.PHARMACIST)
    for user in (staff, pharmacist):
        staff_add(pharmacy=gulou, user=user, by=by)
    if not PharmacyApiToken.objects.filter(token_hash=token_hash(DEMO_TOKEN)).exists():
        token_create(pharmacy=gulou, name="Demo POS (published demo token)", by=by, plaintext=DEMO_TOKEN)
    generated = []
    if scale == "full":
        generated = _generated(full_count, rng)
        stocked += _stock_missing(generated, rng)
    if stdout:
        total = Pharmacy.objects.filter(Q(pk__in=[p.pk for p in pharmacies]) | Q(licence_number__startswith="浙CB59")).count()
        stdout.write(f"  pharmacies: {total} ({len(generated)} generated), stock rows added: {stocked}")
        stdout.write(
            f"  Pharmacy staff ({gulou.name}): phone {STAFF_PHONE}, password {DEMO_PASSWORD}; "
            f"pharmacist {PHARMACIST_PHONE}\n"
            f"  Pharmacy API token: Authorization: Pharmacy {DEMO_TOKEN}"
        )
    return {"pharmacies": pharmacies, "gulou": gulou, "staff": staff, "pharmacist": pharmacist, "token": DEMO_TOKEN}
