"""The online prescribing rules at the edges: the family's confirmation of a long-term
prescription (page and API, and who is refused), and both signatures on the printed and the
FHIR forms."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions import lifecycle, rules
from prescriptions.checks import expected_quantity
from prescriptions.fhir import prescription_bundle
from prescriptions.lifecycle import ItemDraft
from prescriptions.models import Prescription, PrescriptionStatus
from tests.api_errors import error_code
from tests.factories import DrugFactory, PatientFactory

pytestmark = pytest.mark.django_db
S = PrescriptionStatus


def browser_as(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def prescribe(room, days=7, long_term=False) -> Prescription:
    drug = DrugFactory(chronic_use=True)
    item = ItemDraft(drug=drug, dose=Decimal(5), dose_unit="mg", frequency="qd", days_supply=days,
                     quantity=expected_quantity(drug=drug, dose=Decimal(5), dose_unit="mg", frequency="qd",
                                                days_supply=days))
    prescription = lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation, items=[item],
                                                 diagnosis=[{"code": "I10", "name": "原发性高血压"}],
                                                 long_term=long_term).prescription
    return lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription).prescription


@pytest.fixture
def awaiting(room):
    return prescribe(room, days=56, long_term=True)


def test_the_proxy_confirms_on_the_family_page(room, awaiting):
    response = browser_as(room.proxy).post(reverse("prescription-family-confirm", args=[awaiting.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("family-medicines")
    awaiting.refresh_from_db()
    assert awaiting.status == S.SIGNED and awaiting.patient_confirmed_by == room.proxy


def test_a_stranger_and_the_doctor_get_404_on_the_family_page(room, awaiting):
    for user in (PatientFactory().account, room.doctor_user):
        response = browser_as(user).post(reverse("prescription-family-confirm", args=[awaiting.pk]))
        assert response.status_code == 404
    awaiting.refresh_from_db()
    assert awaiting.status == S.CONFIRMING


def test_the_card_offers_the_confirmation_while_it_waits(room, awaiting):
    from django.template.loader import render_to_string

    html = render_to_string("pharmacy/family/_rx_card.html", {"row": {"rx": awaiting, "diagnosis": []}})
    assert reverse("prescription-family-confirm", args=[awaiting.pk]) in html


def test_the_api_confirms_for_the_proxy_and_refuses_others(room, awaiting, client_for):
    path = f"/api/prescriptions/{awaiting.pk}/confirm/"
    assert client_for(PatientFactory().account).post(path).status_code == 404
    doctor = client_for(room.doctor_user).post(path)
    assert doctor.status_code == 403 and error_code(doctor) == "not_the_patient"
    listed = client_for(room.proxy).get(f"/api/prescriptions/{awaiting.pk}/").json()
    assert listed["status"] == "confirming" and listed["allowed_actions"] == ["confirm"]
    response = client_for(room.proxy).post(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "signed" and body["patient_confirmed_by"]["id"] == room.proxy.pk


def test_print_and_fhir_show_both_signatures_and_the_pharmacists_verifies(room, review_pharmacist):
    prescription = prescribe(room)
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=prescription)
    html = browser_as(room.proxy).get(reverse("prescription-print", args=[approved.pk])).content.decode()
    assert approved.signature in html and approved.review_signature in html
    assert approved.review_key_id in html and "药师签名校验未通过" not in html
    bundle = prescription_bundle(Prescription.objects.get(pk=approved.pk))
    provenance = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance")
    assert [s["data"] for s in provenance["signature"]] == [approved.signature, approved.review_signature]
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["author", "verifier"]
    assert provenance["agent"][1]["who"]["identifier"]["value"] == approved.review_key_id
    assert rules.review_verify(approved)[0] is True


def test_a_tampered_review_shows_on_the_print(room, review_pharmacist):
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=prescribe(room))
    Prescription.objects.filter(pk=approved.pk).update(review_reason="后来改的")
    html = browser_as(room.proxy).get(reverse("prescription-print", args=[approved.pk])).content.decode()
    assert "药师签名校验未通过" in html


# --- The prescribing panel --------------------------------------------------------------------
from tests.prescriptions.test_prescribing_pages import posted, rx_room, url  # noqa: E402, F401 (rx_room: a fixture)

SEVEN_DAYS = ("AMLO-T5", 5, "mg", "qd", 7)


def test_the_panel_refuses_a_longer_validity_without_a_reason_at_its_field(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room),
                                                    posted(SEVEN_DAYS, validity_days="3", validity_reason=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="rx-validity-reason-error">处方管理办法: a prescription is valid on the day it is written' in html
    assert not Prescription.objects.exists()


def test_the_panel_saves_three_days_with_the_reason(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room),
                                                    posted(SEVEN_DAYS, validity_days="3", validity_reason="周末取药"))
    assert response.status_code == 200
    assert (Prescription.objects.get().validity_days, Prescription.objects.get().validity_reason) == (3, "周末取药")


def test_the_review_page_shows_who_confirmed_the_long_term_prescription(room, awaiting, review_pharmacist):
    lifecycle.prescription_confirm(by=room.proxy, prescription=awaiting)
    html = browser_as(review_pharmacist).get(reverse("review-detail", args=[awaiting.pk])).content.decode()
    assert f"Long-term prescription confirmed by {room.proxy.full_name}" in html
