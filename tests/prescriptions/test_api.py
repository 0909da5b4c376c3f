"""Formulary and signing-key endpoints: search, filters, query counts, refusals, no secrets."""

from decimal import Decimal

import pytest

from cloudhospital.models import Role
from prescriptions import demo
from prescriptions.formulary import FORMULARY
from prescriptions.models import Drug, SigningKey
from prescriptions.signing import content_sign, signing_key_revoke, signing_key_rotate
from tests.factories import PatientFactory, UserFactory
from tests.api_errors import error_attrs

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client_for):
    return client_for(PatientFactory().account)


def codes(response) -> list[str]:
    return [d["code"] for d in response.json()["results"]]


def test_drug_list_needs_a_login(api, formulary):
    assert api.get("/api/drugs/").status_code in (401, 403)
    assert api.get("/api/signing-keys/").status_code in (401, 403)


def test_drug_list_is_paginated_with_constant_queries(reader, formulary, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = reader.get("/api/drugs/?page_size=10")
    body = response.json()
    assert response.status_code == 200 and body["count"] == len(FORMULARY) and len(body["results"]) == 10
    with django_assert_max_num_queries(3):
        reader.get("/api/drugs/?page_size=100")


@pytest.mark.parametrize(
    "term, expected",
    [("氨氯地平", {"AMLO-T5", "LEVA-T2.5", "AMVA-T5", "AMAT-T5"}), ("amlodipine", {"AMLO-T5", "LEVA-T2.5", "AMVA-T5", "AMAT-T5"}),
     ("Losartan", {"LOSA-T50", "LOHC-T50"}), ("METF-T500", {"METF-T500"}), ("沙坦钾", {"LOSA-T50", "LOHC-T50"}),
     ("缓释胶囊", {"IBUP-SR300", "TAMS-C0.2"}),
     ("C09CA", {"LOSA-T50", "VALS-C80", "IRBE-T150", "TELM-T40", "CAND-T8", "OLME-T20"}),
     ("delz", {"DILT-T30"}), ("nothing-like-this", set())],
)
def test_drug_search_matches_chinese_and_english_names_codes_and_pinyin(reader, formulary, term, expected):
    response = reader.get("/api/drugs/", {"search": term})
    assert set(codes(response)) == expected


def test_drug_filter_by_therapeutic_class(reader, formulary):
    response = reader.get("/api/drugs/", {"therapeutic_class": "ace_inhibitor"})
    assert set(codes(response)) == {"ENAL-T10", "BENA-T10", "PERI-T4", "CAPT-T25", "RAMI-T5", "FOSI-T10", "PEIN-T4"}
    assert response.json()["results"][0]["therapeutic_class_display"] == "ACE inhibitor"


def test_drug_filter_with_unknown_class_is_a_400_naming_it(reader, formulary):
    response = reader.get("/api/drugs/", {"therapeutic_class": "antibiotic"})
    assert response.status_code == 400 and "therapeutic_class" in error_attrs(response)


def test_drug_detail_shows_the_renal_rule(reader, formulary):
    metformin = formulary["METF-T500"]
    body = reader.get(f"/api/drugs/{metformin.pk}/").json()
    assert body["generic_name_zh"] == "盐酸二甲双胍片" and body["strength"] == "500.00"
    assert (body["renal_contraindicated_below"], body["renal_cap_below"], body["renal_max_daily_dose"]) == ("30.0", "45.0", "1000.00")
    assert (body["renal_reduce_below"], body["renal_reduced_max_daily_dose"]) == ("60.0", "1500.00")


def test_inactive_drug_is_not_listed_and_its_detail_is_404(reader, formulary):
    drug = formulary["CLOP-T75"]
    Drug.objects.filter(pk=drug.pk).update(active=False)
    assert "CLOP-T75" not in codes(reader.get("/api/drugs/?page_size=100"))
    assert reader.get(f"/api/drugs/{drug.pk}/").status_code == 404


def test_formulary_is_read_only(client_for, formulary):
    admin_client = client_for(UserFactory(role=Role.HOSPITAL_ADMIN))
    assert admin_client.post("/api/drugs/", {"code": "X"}).status_code == 405
    assert admin_client.delete(f"/api/drugs/{formulary['AMLO-T5'].pk}/").status_code == 405


def test_seed_is_idempotent_and_updates_changed_rows(db):
    demo.seed()
    demo.seed()
    assert Drug.objects.count() == len(FORMULARY)
    Drug.objects.filter(code="AMLO-T5").update(max_daily_dose=20)
    demo.seed()
    assert str(Drug.objects.get(code="AMLO-T5").max_daily_dose) == "10.00"
    assert Drug.objects.count() == len(FORMULARY)


def test_seeded_formulary_holds_the_issue_drugs_with_label_strengths(formulary):
    expected = {
        "苯磺酸氨氯地平片": "5", "硝苯地平控释片": "30", "氯沙坦钾片": "50", "缬沙坦胶囊": "80", "厄贝沙坦片": "150",
        "马来酸依那普利片": "10", "盐酸贝那普利片": "10", "氢氯噻嗪片": "25", "吲达帕胺片": "2.5",
        "琥珀酸美托洛尔缓释片": "47.5", "螺内酯片": "20", "盐酸二甲双胍片": "500", "阿托伐他汀钙片": "20",
        "阿司匹林肠溶片": "100", "布洛芬缓释胶囊": "300",
    }
    by_name = {d.generic_name_zh: d for d in formulary.values()}
    for name, strength in expected.items():
        assert by_name[name].strength == Decimal(strength), name
        assert by_name[name].max_daily_dose >= by_name[name].usual_daily_dose


# --- Signing keys ---------------------------------------------------------------------------
@pytest.fixture
def keys(doctor):
    content_sign(signer=doctor, content={"a": 1})
    signing_key_rotate(doctor=doctor, by=doctor, reason="rotation")
    other = UserFactory(role=Role.DOCTOR, full_name="王医生 Dr Wang")
    content_sign(signer=other, content={"a": 1})
    signing_key_revoke(key=SigningKey.objects.get(doctor=other), by=other, reason="device stolen")
    return SigningKey.objects.all()


def test_signing_keys_are_public_to_any_signed_in_user_with_constant_queries(
    client_for, keys, django_assert_max_num_queries
):
    pharmacist = client_for(UserFactory(role=Role.PHARMACIST))
    with django_assert_max_num_queries(3):
        response = pharmacist.get("/api/signing-keys/")
    body = response.json()
    assert response.status_code == 200 and body["count"] == 3
    statuses = sorted((k["doctor_name"], k["status"]) for k in body["results"])
    assert statuses == [("王医生 Dr Wang", "revoked"), ("陈晓敏 Chen Xiaomin", "current"), ("陈晓敏 Chen Xiaomin", "retired")]
    first = body["results"][0]
    assert first["algorithm"] == "Ed25519" and first["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_signing_key_detail_by_key_id_and_unknown_is_404(reader, keys):
    key = keys.filter(revoked_at__isnull=False).get()
    body = reader.get(f"/api/signing-keys/{key.key_id}/").json()
    assert body["key_id"] == key.key_id and body["revoked_at"] and body["revoked_reason"] == "device stolen"
    assert reader.get("/api/signing-keys/ed25519-ffffffffffffffffffffffff/").status_code == 404


def test_signing_keys_filter_by_doctor(reader, keys, doctor):
    response = reader.get("/api/signing-keys/", {"doctor": doctor.pk})
    assert {k["doctor"] for k in response.json()["results"]} == {doctor.pk}


def test_private_key_never_appears_in_any_response(client_for, keys):
    client = client_for(UserFactory(role=Role.PHARMACIST))
    texts = [client.get("/api/signing-keys/").content.decode()]
    texts += [client.get(f"/api/signing-keys/{k.key_id}/").content.decode() for k in keys]
    texts.append(client.get("/api/schema/").content.decode())
    for key in keys:
        token = bytes(key.private_key_encrypted).decode()
        assert all(token not in text for text in texts)
    assert all("private" not in text for text in texts[:-1])
    assert "private_key" not in texts[-1]


def test_signing_keys_are_read_only(client_for, keys, doctor):
    client = client_for(doctor)
    assert client.post("/api/signing-keys/", {}).status_code == 405
    key_id = keys.first().key_id
    assert client.delete(f"/api/signing-keys/{key_id}/").status_code == 405


def test_admin_pages_never_show_the_private_key(client, keys, django_user_model):
    admin = UserFactory(role=Role.HOSPITAL_ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    for key in keys:
        page = client.get(f"/admin/prescriptions/signingkey/{key.pk}/change/")
        assert page.status_code == 200
        assert bytes(key.private_key_encrypted).decode() not in page.content.decode()
        assert "private_key" not in page.content.decode()
        history = client.get(f"/admin/prescriptions/signingkey/{key.pk}/history/")
        assert history.status_code == 200
    assert client.get("/admin/prescriptions/signingkey/").status_code == 200
    assert client.get("/admin/prescriptions/drug/").status_code == 200
