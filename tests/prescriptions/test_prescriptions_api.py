"""Prescription endpoints: writes through the lifecycle, who sees what, refusals naming the field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cloudhospital.models import Role
from prescriptions import lifecycle
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionStatus
from tests.factories import PatientFactory, PharmacyFactory, PharmacyStaffFactory, UserFactory
from tests.api_errors import error_attrs, error_code, error_detail
from tests.second_factor import code_for

pytestmark = pytest.mark.django_db
S = PrescriptionStatus


def body(room, **changes) -> dict:
    data = {
        "consultation": room.consultation.pk,
        "diagnosis": [{"code": "I10", "name": "原发性高血压"}],
        "items": [{"drug": "AMLO-T5", "dose": "5", "dose_unit": "mg", "frequency": "qd", "days_supply": 7,
                   "quantity": 7, "instructions": "早餐后"}],
    }
    data.update(changes)
    return data


def item(**changes) -> dict:
    return {"drug": "AMLO-T5", "dose": "5", "dose_unit": "mg", "frequency": "qd", "days_supply": 7, "quantity": 7,
            **changes}


@pytest.fixture
def doctor_api(room, client_for):
    return client_for(room.doctor_user)


def test_doctor_creates_a_draft_and_gets_findings(doctor_api, room):
    response = doctor_api.post("/api/prescriptions/", body(room), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "draft" and data["findings"] == []
    assert data["patient"]["id"] == room.patient.pk and data["items"][0]["drug"]["code"] == "AMLO-T5"
    assert data["items"][0]["frequency_display"] == "每日一次" and data["hospital"] == "宁波市第一医院"


def test_create_returns_warnings_on_save(doctor_api, room):
    data = body(room, items=[item(drug="METF-T500", dose="1000", frequency="bid", quantity=28)])
    response = doctor_api.post("/api/prescriptions/", data, format="json")
    assert response.status_code == 201
    assert [f["key"] for f in response.json()["findings"]] == ["renal_dose_cap:0"]


@pytest.mark.parametrize(
    "bad_item, field",
    [({"drug": "NOPE-1"}, "items[0].drug"), ({"drug": "AMLO\x00T5"}, "items[0].drug"),  # NUL: 400 before any lookup
     ({"drug": "A" * 500}, "items[0].drug"), ({"dose": "0"}, "items[0].dose"), ({"dose": "-5"}, "items[0].dose"),
     ({"quantity": 9}, "items[0].quantity"), ({"frequency": "q2h"}, "items[0].frequency"),
     ({"frequency": "weekly-ish"}, "items[0].frequency"), ({"days_supply": 0}, "items[0].days_supply"),
     ({"colour": "red"}, "items[0].colour")],
)
def test_create_refuses_bad_items_naming_the_field_and_saves_nothing(doctor_api, room, bad_item, field):
    response = doctor_api.post("/api/prescriptions/", body(room, items=[item(**bad_item)]), format="json")
    assert response.status_code == 400 and field in error_attrs(response), response.json()
    assert not Prescription.objects.exists() and not PrescriptionItem.objects.exists()


def test_create_refuses_someone_elses_consultation_naming_the_field(client_for, room):
    other_doctor = UserFactory(role=Role.DOCTOR)
    response = client_for(other_doctor).post("/api/prescriptions/", body(room), format="json")
    assert response.status_code == 400 and "consultation" in error_attrs(response)
    response = client_for(room.proxy).post("/api/prescriptions/", body(room), format="json")
    assert response.status_code == 400 and "consultation" in error_attrs(response)
    assert not Prescription.objects.exists()


def test_create_refuses_a_missing_diagnosis(doctor_api, room):
    response = doctor_api.post("/api/prescriptions/", body(room, diagnosis=[]), format="json")
    assert response.status_code == 400 and "diagnosis" in error_attrs(response)
    response = doctor_api.post("/api/prescriptions/", body(room, diagnosis=[{"code": "high bp"}]), format="json")
    assert response.status_code == 400 and "diagnosis[0].code" in error_attrs(response)


def test_patch_edits_a_draft_and_refuses_after_signing(doctor_api, write, room):
    prescription = write()
    new_items = [item(drug="LOSA-T50", dose="50"), item(drug="HCTZ-T25", dose="12.5", quantity=4)]
    response = doctor_api.patch(f"/api/prescriptions/{prescription.pk}/", {"items": new_items}, format="json")
    assert response.status_code == 200, response.json()
    assert [i["drug"]["code"] for i in response.json()["items"]] == ["LOSA-T50", "HCTZ-T25"]
    assert "findings" in response.json()
    lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription)
    response = doctor_api.patch(f"/api/prescriptions/{prescription.pk}/", {"notes": "x"}, format="json")
    assert response.status_code == 409 and "signed" in error_detail(response)
    assert doctor_api.put(f"/api/prescriptions/{prescription.pk}/", body(room), format="json").status_code == 405


def test_check_dry_runs_saved_or_given_items_without_saving(doctor_api, write):
    prescription = write()
    response = doctor_api.post(f"/api/prescriptions/{prescription.pk}/check/", {}, format="json")
    assert response.json() == {"findings": [], "can_sign": True, "overrides_required": []}
    response = doctor_api.post(f"/api/prescriptions/{prescription.pk}/check/",
                               {"items": [item(dose="15", quantity=21)]}, format="json")
    data = response.json()
    assert data["can_sign"] is False and data["findings"][0]["code"] == "max_daily_dose"
    assert prescription.items.get().dose == 5


def test_sign_with_overrides_then_verify(doctor_api, write, line, room):
    prescription = write(line("METF-T500", 1000, "bid"))
    url = f"/api/prescriptions/{prescription.pk}/"
    response = doctor_api.post(url + "sign/", {}, format="json")
    assert response.status_code == 422 and error_code(response) == "override_reason_required"
    response = doctor_api.post(url + "sign/", {"overrides": {"renal_dose_cap:0": "血糖控制差，已告知风险"},
                                               "otp": code_for(room.doctor_user)}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "signed" and data["signature"] and data["key_id"].startswith("ed25519-")
    assert data["override_reasons"] == {"renal_dose_cap:0": "血糖控制差，已告知风险"}
    verify = doctor_api.get(url + "verify/").json()
    assert verify["valid"] is True and verify["key_id"] == data["key_id"]


def test_sign_refuses_a_block_with_422(doctor_api, write, line):
    prescription = write(line("AMLO-T5", 15))
    response = doctor_api.post(f"/api/prescriptions/{prescription.pk}/sign/", {}, format="json")
    assert response.status_code == 422 and error_code(response) == "safety_block"


def test_verify_answers_invalid_after_a_direct_database_change(doctor_api, write):
    prescription = write(sign=True)
    Prescription.objects.filter(pk=prescription.pk).update(diagnosis=[{"code": "I10", "name": "原发性高血压"},
                                                                      {"code": "E11", "name": "2型糖尿病"}])
    data = doctor_api.get(f"/api/prescriptions/{prescription.pk}/verify/").json()
    assert data["valid"] is False and "diagnosis" in data["reason"]


def test_offline_verification_with_the_published_key(doctor_api, write):
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from prescriptions.signing import canonical_json

    prescription = write(sign=True)
    data = doctor_api.get(f"/api/prescriptions/{prescription.pk}/").json()
    key = doctor_api.get(f"/api/signing-keys/{data['key_id']}/").json()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(data["signature"]), canonical_json(data["signed_content"]))


def test_review_queue_approve_reject_revise_void_through_the_api(client_for, doctor_api, write, review_pharmacist):
    pharmacist = client_for(review_pharmacist)
    first, second = write(sign=True), write(sign=True)
    queue = pharmacist.get("/api/prescriptions/review-queue/").json()
    assert [p["id"] for p in queue["results"]] == [first.pk, second.pk]
    response = pharmacist.post(f"/api/prescriptions/{first.pk}/approve/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert pharmacist.post(f"/api/prescriptions/{second.pk}/reject/", {}, format="json").status_code == 400
    response = pharmacist.post(f"/api/prescriptions/{second.pk}/reject/", {"reason": "诊断与用药不符"}, format="json")
    assert response.json()["status"] == "rejected" and response.json()["reviewed_by"]["id"] == review_pharmacist.pk
    assert pharmacist.get("/api/prescriptions/review-queue/").json()["count"] == 0
    revised = doctor_api.post(f"/api/prescriptions/{second.pk}/revise/", format="json")
    assert revised.status_code == 201 and revised.json()["previous"] == second.pk and revised.json()["version"] == 2
    assert doctor_api.get(f"/api/prescriptions/{second.pk}/").json()["revision"] == revised.json()["id"]
    response = doctor_api.post(f"/api/prescriptions/{first.pk}/void/", {"reason": "患者改用其他方案"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "voided"
    response = doctor_api.post(f"/api/prescriptions/{first.pk}/void/", {"reason": "again"}, format="json")
    assert response.status_code == 409 and "voided" in error_detail(response)


def test_review_queue_is_for_review_pharmacists_only(client_for, room, write):
    write(sign=True)
    pharmacy_pharmacist = UserFactory(role=Role.PHARMACIST)
    PharmacyStaffFactory(user=pharmacy_pharmacist, pharmacy=PharmacyFactory())
    for user in (room.doctor_user, room.proxy, pharmacy_pharmacist):
        assert client_for(user).get("/api/prescriptions/review-queue/").status_code == 403


def test_patient_and_proxy_never_see_drafts(client_for, room, write):
    draft, signed = write(), write(sign=True)
    for user in (room.proxy,):
        api = client_for(user)
        assert [p["id"] for p in api.get("/api/prescriptions/").json()["results"]] == [signed.pk]
        assert api.get(f"/api/prescriptions/{draft.pk}/").status_code == 404
        assert api.get(f"/api/prescriptions/{signed.pk}/").status_code == 200


def test_others_get_404_everywhere(client_for, room, write, review_pharmacist):
    draft = write()
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    pharmacy_pharmacist = UserFactory(role=Role.PHARMACIST)
    PharmacyStaffFactory(user=pharmacy_pharmacist, pharmacy=PharmacyFactory())
    outsiders = [PatientFactory().account, UserFactory(role=Role.DOCTOR), pharmacy_pharmacist,
                 UserFactory(role=Role.HOSPITAL_ADMIN), UserFactory(role=Role.PHARMACY_STAFF)]
    for user in outsiders:
        api = client_for(user)
        assert api.get("/api/prescriptions/").json()["count"] == 0, user
        for pk in (draft.pk, approved.pk):
            for suffix in ("", "verify/", "fhir/"):
                assert api.get(f"/api/prescriptions/{pk}/{suffix}").status_code == 404, (user, suffix)
            assert api.post(f"/api/prescriptions/{pk}/void/", {"reason": "x"}, format="json").status_code == 404
            assert api.post(f"/api/prescriptions/{pk}/check/", {}, format="json").status_code == 404
        api.force_authenticate(None)
        api.force_login(user)
        assert api.get(f"/prescriptions/{approved.pk}/print/").status_code == 404


def test_review_pharmacist_sees_the_queue_and_what_they_reviewed(client_for, write, review_pharmacist):
    draft = write()
    reviewed = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    waiting = write(sign=True)
    other = UserFactory(role=Role.PHARMACIST)
    ids = {p["id"] for p in client_for(review_pharmacist).get("/api/prescriptions/").json()["results"]}
    assert ids == {reviewed.pk, waiting.pk}
    ids = {p["id"] for p in client_for(other).get("/api/prescriptions/").json()["results"]}
    assert ids == {waiting.pk}
    assert client_for(review_pharmacist).get(f"/api/prescriptions/{draft.pk}/").status_code == 404


def test_doctor_reads_only_their_own(client_for, write):
    prescription = write()
    other = UserFactory(role=Role.DOCTOR)
    assert client_for(other).get(f"/api/prescriptions/{prescription.pk}/").status_code == 404
    assert client_for(other).post(f"/api/prescriptions/{prescription.pk}/sign/", {}, format="json").status_code == 404


def test_approve_by_the_doctor_is_403(doctor_api, write):
    prescription = write(sign=True)
    response = doctor_api.post(f"/api/prescriptions/{prescription.pk}/approve/", {}, format="json")
    assert response.status_code == 403


def test_list_filters_by_status(doctor_api, write):
    write(), write(sign=True)
    assert doctor_api.get("/api/prescriptions/", {"status": "signed"}).json()["count"] == 1
    assert doctor_api.get("/api/prescriptions/", {"status": "nonsense"}).status_code == 400


@pytest.mark.parametrize("who", ["doctor", "proxy", "pharmacist"])
def test_lists_have_constant_queries(client_for, room, write, line, review_pharmacist, who,
                                     django_assert_max_num_queries):
    for _ in range(6):
        write(line("AMLO-T5", 5), line("LOSA-T50", 50), sign=True)
    user = {"doctor": room.doctor_user, "proxy": room.proxy, "pharmacist": review_pharmacist}[who]
    api = client_for(user)
    with django_assert_max_num_queries(6):
        response = api.get("/api/prescriptions/?page_size=100")
    assert response.json()["count"] == 6
    if who == "pharmacist":
        with django_assert_max_num_queries(6):
            assert api.get("/api/prescriptions/review-queue/?page_size=100").json()["count"] == 6


def test_fhir_bundle_is_valid_r4_with_mapped_status(doctor_api, write, line, review_pharmacist):
    from fhir.resources.R4B.bundle import Bundle

    prescription = write(line("AMLO-T5", 5), line("LOSA-T50", 50))
    data = doctor_api.get(f"/api/prescriptions/{prescription.pk}/fhir/").json()
    bundle = Bundle.parse_obj(data)
    assert bundle.type == "collection" and len(bundle.entry) == 2
    assert {e.resource.status for e in bundle.entry} == {"draft"}
    request = data["entry"][1]["resource"]
    assert request["resourceType"] == "MedicationRequest" and request["intent"] == "order"
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "LOSA-T50"
    assert request["reasonCode"][0]["coding"][0]["code"] == "I10"
    assert request["dispenseRequest"]["quantity"]["value"] == 7
    expectations = [("on-hold", None), ("active", "approve")]
    lifecycle.prescription_sign(by=prescription.doctor, prescription=prescription)
    for status, verb in expectations:
        if verb:
            lifecycle.prescription_approve(by=review_pharmacist, prescription=prescription)
        data = doctor_api.get(f"/api/prescriptions/{prescription.pk}/fhir/").json()
        assert data["entry"][0]["resource"]["status"] == status
        assert data["signature"]["data"] == Prescription.objects.get(pk=prescription.pk).signature


def test_fhir_status_map_covers_every_status():
    from prescriptions.fhir import STATUS_MAP

    assert set(STATUS_MAP) == set(S.values)
    assert STATUS_MAP[S.VOIDED] == "cancelled" and STATUS_MAP[S.EXPIRED] == "stopped"
    assert STATUS_MAP[S.DISPENSED] == "completed" and STATUS_MAP[S.REJECTED] == "cancelled"


def test_print_page_in_chinese_with_qr_for_the_patient_side(client, room, write):
    prescription = write(sign=True)
    client.force_login(room.proxy)
    response = client.get(f"/prescriptions/{prescription.pk}/print/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "处方笺" in html and "宁波市第一医院" in html and room.patient.full_name in html
    assert "苯磺酸氨氯地平片" in html and "每日一次" in html and "原发性高血压" in html
    assert prescription.key_id in html and "<svg" in html and "@page { size: A5" in html
    # The QR opens the paper verify page (no login) with the prescription's signed code.
    from prescriptions.paper import verify_code
    assert f"/verify/{verify_code(prescription)}/" in html


def test_print_page_hides_drafts_from_the_patient_and_needs_a_login(client, room, write):
    draft = write()
    assert client.get(f"/prescriptions/{draft.pk}/print/").status_code == 302
    client.force_login(room.proxy)
    assert client.get(f"/prescriptions/{draft.pk}/print/").status_code == 404


def test_print_page_flags_an_altered_prescription(client, room, write):
    prescription = write(sign=True)
    PrescriptionItem.objects.filter(prescription=prescription).update(days_supply=30, quantity=30)
    client.force_login(room.doctor_user)
    assert "签名校验未通过" in client.get(f"/prescriptions/{prescription.pk}/print/").content.decode()


def test_expired_prescription_cannot_be_approved_through_the_api(client_for, write, review_pharmacist):
    prescription = write(sign=True)
    Prescription.objects.filter(pk=prescription.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(review_pharmacist).post(f"/api/prescriptions/{prescription.pk}/approve/", {}, format="json")
    assert response.status_code == 409 and error_code(response) == "prescription_expired"
