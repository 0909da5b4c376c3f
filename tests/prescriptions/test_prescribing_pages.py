"""The prescribing panel's fragments with the Django client: who may open them, what each
refusal looks like (next to its field, with a 400, never a 500), and what reaches the
database through the same lifecycle functions as the API."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from cloudhospital.models import AccessLog
from consult import consultation as consult_rules
from prescriptions import lifecycle
from prescriptions.models import Prescription
from tests.consult.rooms import make_room
from tests.factories import LabFactory, PatientFactory
from tests.second_factor import code_for

pytestmark = pytest.mark.django_db

DIAGNOSIS = [{"code": "I10", "name": "原发性高血压"}, {"code": "N18.3", "name": "慢性肾脏病3期"}]


@pytest.fixture
def rx_room(room):
    """The conftest room (Zhang Lin, eGFR 48, in progress) with the diagnosis written."""
    room.consultation = consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation,
                                                          diagnosis=DIAGNOSIS)
    return room


def browser_as(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})  # messages asserted in English
    client.force_login(user)
    return client


def url(name, room, *extra):
    return reverse(name, args=[room.consultation.pk, *extra])


def posted(*lines, prescription=None, long_term=False, overrides=None, **extra):
    """The panel's form as the browser posts it: lines of (code, dose, unit, frequency, days)."""
    data = {"items-TOTAL_FORMS": str(len(lines)), "items-INITIAL_FORMS": "0", "notes": ""}
    for index, (code, dose, unit, frequency, days) in enumerate(lines):
        row = f"items-{index}-"
        data.update({row + "drug": code, row + "dose": str(dose), row + "dose_unit": unit,
                     row + "frequency": frequency, row + "route": "", row + "days_supply": str(days),
                     row + "instructions": ""})
    if prescription:
        data["prescription"] = str(prescription.pk)
    if long_term:
        data["long_term"] = "on"
    for key, reason in (overrides or {}).items():
        data[f"override-{key}"] = reason
    data.update(extra)
    return data


AMLODIPINE = ("AMLO-T5", 5, "mg", "qd", 30)
IBUPROFEN_TID = ("IBUP-SR300", 300, "mg", "tid", 5)  # 900 mg/day: above the 600 mg renal cap at eGFR 48


# --- Who may open the panel -------------------------------------------------------------------
def test_the_doctor_opens_the_panel_and_the_read_is_logged(rx_room):
    response = browser_as(rx_room.doctor_user).get(url("prescribing-panel", rx_room))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rx-panel"' in html and "I10" in html and 'id="rx-drug-q"' in html
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (rx_room.doctor_user.pk, rx_room.patient.pk, "prescribing_panel")]


@pytest.mark.parametrize("name", ["prescribing-panel", "prescribing-drug-search", "prescription-history"])
def test_another_doctor_gets_404_for_every_read(name, rx_room):
    other = make_room().doctor_user
    assert browser_as(other).get(url(name, rx_room), {"q": "aldp"}).status_code == 404
    assert not AccessLog.objects.filter(patient=rx_room.patient).exists()


@pytest.mark.parametrize("name", ["prescribing-edit", "prescribing-check", "prescribing-save", "prescribing-sign"])
def test_another_doctor_gets_404_for_every_write(name, rx_room):
    other = make_room().doctor_user
    assert browser_as(other).post(url(name, rx_room), posted(AMLODIPINE)).status_code == 404
    assert not Prescription.objects.exists()


def test_the_patients_proxy_is_refused_and_a_stranger_does_not_find_it(rx_room):
    assert browser_as(rx_room.proxy).get(url("prescribing-panel", rx_room)).status_code == 403
    assert browser_as(rx_room.proxy).post(url("prescribing-save", rx_room), posted(AMLODIPINE)).status_code == 403
    assert browser_as(PatientFactory().account).get(url("prescribing-panel", rx_room)).status_code == 404
    assert not Prescription.objects.exists()


def test_a_foreign_prescription_id_is_404(rx_room, write):
    mine = make_room()
    consult_rules.consultation_admit(by=mine.doctor_user, consultation=mine.consultation)
    theirs = write()
    response = browser_as(mine.doctor_user).post(
        url("prescribing-void", mine, theirs.pk), {"reason": "mistake"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "draft"


# --- The formulary search ---------------------------------------------------------------------
@pytest.mark.parametrize("query, found", [("aldp", "苯磺酸氨氯地平片"), ("氨氯", "苯磺酸氨氯地平片"),
                                          ("ibuprofen", "布洛芬缓释胶囊"), ("blf", "布洛芬缓释胶囊")])
def test_the_search_finds_by_pinyin_initials_chinese_and_english(rx_room, query, found):
    response = browser_as(rx_room.doctor_user).get(url("prescribing-drug-search", rx_room), {"q": query})
    assert response.status_code == 200
    assert found in response.content.decode()


def test_the_search_says_when_nothing_matches(rx_room):
    html = browser_as(rx_room.doctor_user).get(url("prescribing-drug-search", rx_room), {"q": "zzzz"}).content.decode()
    assert 'id="rx-drug-count"' in html and "rx-pick" not in html


# --- Editing and the live checks --------------------------------------------------------------
def test_picking_a_drug_adds_a_line_with_the_computed_quantity(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-edit", rx_room), {**posted(), "add": "AMLO-T5"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-drug="AMLO-T5"' in html and 'name="items-0-dose" id="id_items-0-dose" value="5"' in html
    assert 'id="rx-qty-0"' in html and ">7 tablets<" in html  # 5 mg qd × 7 days = 7 tablets
    assert not Prescription.objects.exists()  # nothing saved yet


def test_removing_a_line_moves_the_next_one_up(rx_room):
    data = {**posted(AMLODIPINE, IBUPROFEN_TID), "remove": "0"}
    html = browser_as(rx_room.doctor_user).post(url("prescribing-edit", rx_room), data).content.decode()
    assert 'name="items-0-drug" value="IBUP-SR300"' in html and "items-1-drug" not in html


def test_the_check_warns_about_ibuprofen_above_the_renal_cap(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-check", rx_room), posted(AMLODIPINE, IBUPROFEN_TID))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="renal_dose_cap"' in html and 'data-severity="warn"' in html
    assert 'name="override-renal_dose_cap:1"' in html
    assert 'id="rx-sign"' in html and 'id="rx-sign" hx-post' in html and "disabled" not in html.split('id="rx-sign"')[1][:200]
    assert 'id="rx-qty-1" aria-labelledby="rx-qty-label-1" hx-swap-oob="true">15 ' in html  # 300 mg tid × 5 days


def test_the_check_blocks_ibuprofen_below_egfr_30_and_disables_signing(rx_room):
    LabFactory(patient=rx_room.patient, value=Decimal("25"), measured_at=rx_room.consultation.started_at)
    html = browser_as(rx_room.doctor_user).post(
        url("prescribing-check", rx_room), posted(AMLODIPINE, IBUPROFEN_TID)).content.decode()
    assert 'data-code="renal_contraindicated"' in html and 'data-severity="block"' in html
    assert "disabled" in html.split('id="rx-sign"')[1][:200]


def test_a_malformed_dose_is_a_400_next_to_the_field(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-check", rx_room),
                                                     posted(("AMLO-T5", "abc", "mg", "qd", 7)))
    assert response.status_code == 400 and response["HX-Reswap"] == "innerHTML"
    html = response.content.decode()
    assert 'id="id_items-0-dose-error" hx-swap-oob="true">' in html
    assert 'id="id_items-0-dose-error" hx-swap-oob="true"></span>' not in html


def test_a_zero_dose_is_refused_by_the_domain_next_to_the_field(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room),
                                                     posted(("AMLO-T5", "0", "mg", "qd", 7)))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_items-0-dose-error">Dose must be greater than zero.</span>' in html
    assert not Prescription.objects.exists()


def test_a_dose_unit_that_does_not_fit_the_drug_is_refused_at_the_unit(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room),
                                                     posted(("AMLO-T5", "5", "ml", "qd", 7)))
    assert response.status_code == 400
    assert 'id="id_items-0-dose_unit-error"></span>' not in response.content.decode()


def test_garbage_management_data_is_a_400_not_a_500(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room), {"items-TOTAL_FORMS": "x"})
    assert response.status_code == 400


# --- Save, sign, void, revise -----------------------------------------------------------------
def test_save_creates_a_draft_with_the_consultations_diagnosis_then_updates_it(rx_room):
    client = browser_as(rx_room.doctor_user)
    response = client.post(url("prescribing-save", rx_room), posted(AMLODIPINE))
    assert response.status_code == 200
    prescription = Prescription.objects.get()
    assert prescription.status == "draft" and prescription.doctor == rx_room.doctor_user
    assert [d["code"] for d in prescription.diagnosis] == ["I10", "N18.3"]
    assert [(i.drug.code, i.quantity) for i in prescription.items.all()] == [("AMLO-T5", 30)]
    assert f'name="prescription" value="{prescription.pk}"' in response.content.decode()
    client.post(url("prescribing-save", rx_room), posted(("AMLO-T5", 10, "mg", "qd", 30), prescription=prescription))
    assert Prescription.objects.count() == 1
    assert [(i.dose, i.quantity) for i in prescription.items.all()] == [(Decimal("10.000"), 60)]


def test_save_without_a_diagnosis_says_where_to_write_it(room):
    response = browser_as(room.doctor_user).post(url("prescribing-save", room), posted(AMLODIPINE))
    assert response.status_code == 400
    assert "consult notes" in response.content.decode()
    assert not Prescription.objects.exists()


def test_signing_without_an_override_reason_is_a_400_naming_the_item(rx_room):
    response = browser_as(rx_room.doctor_user).post(url("prescribing-sign", rx_room),
                                                     posted(AMLODIPINE, IBUPROFEN_TID))
    assert response.status_code == 400
    html = response.content.decode()
    warning = html.split('data-key="renal_dose_cap:1"')[1].split("</li>")[0]
    assert "item 2, Ibuprofen sustained-release" in warning and 'aria-invalid="true"' in warning
    assert 'id="rx-override-renal_dose_cap-1-error"></span>' not in warning
    assert Prescription.objects.get().status == "draft"  # saved, not signed


def test_signing_with_a_reason_signs_and_stores_it(rx_room):
    reason = "短期止痛，3天后复查肾功能"
    response = browser_as(rx_room.doctor_user).post(
        url("prescribing-sign", rx_room), posted(AMLODIPINE, IBUPROFEN_TID, overrides={"renal_dose_cap:1": reason},
                                                 otp=code_for(rx_room.doctor_user)))
    assert response.status_code == 200
    prescription = Prescription.objects.get()
    assert prescription.status == "signed" and prescription.signature
    assert prescription.override_reasons == {"renal_dose_cap:1": reason}
    html = response.content.decode()
    assert 'data-status="signed"' in html
    assert reverse("prescription-print", args=[prescription.pk]) in html
    assert "Above the dose limit for this kidney function · item 2, Ibuprofen sustained-release" in html
    valid, _ = lifecycle.prescription_verify(prescription)
    assert valid


def test_a_blocking_finding_refuses_signing(rx_room):
    LabFactory(patient=rx_room.patient, value=Decimal("25"), measured_at=rx_room.consultation.started_at)
    response = browser_as(rx_room.doctor_user).post(
        url("prescribing-sign", rx_room), posted(AMLODIPINE, IBUPROFEN_TID, overrides={"renal_contraindicated:1": "x"}))
    assert response.status_code == 400
    assert 'id="rx-block-refusal"' in response.content.decode()
    assert Prescription.objects.get().status == "draft"


def test_void_needs_a_reason_then_voids_the_draft(rx_room, write):
    prescription = write()
    client = browser_as(rx_room.doctor_user)
    response = client.post(url("prescribing-void", rx_room, prescription.pk), {"reason": "  "})
    assert response.status_code == 400
    assert 'id="rx-void-reason-error"></span>' not in response.content.decode()
    response = client.post(url("prescribing-void", rx_room, prescription.pk), {"reason": "开错了药"})
    assert response.status_code == 200
    prescription.refresh_from_db()
    assert prescription.status == "voided" and prescription.voided_reason == "开错了药"
    assert 'id="rx-voided"' in response.content.decode()


def test_void_while_in_review_is_a_409_shown_in_the_panel(rx_room, write):
    prescription = write(sign=True)
    response = browser_as(rx_room.doctor_user).post(url("prescribing-void", rx_room, prescription.pk), {"reason": "x"})
    assert response.status_code == 409 and response["HX-Reswap"] == "outerHTML"
    prescription.refresh_from_db()
    assert prescription.status == "signed"


def test_after_a_rejection_the_panel_shows_the_reason_and_revise_starts_version_2(rx_room, write, review_pharmacist):
    prescription = write(sign=True)
    lifecycle.prescription_reject(by=review_pharmacist, prescription=prescription, reason="剂量过大，请调整")
    client = browser_as(rx_room.doctor_user)
    html = client.get(url("prescribing-panel", rx_room)).content.decode()
    assert "剂量过大，请调整" in html and 'id="rx-revise"' in html
    response = client.post(url("prescribing-revise", rx_room, prescription.pk))
    assert response.status_code == 200
    revision = Prescription.objects.get(previous=prescription)
    assert revision.version == 2 and revision.status == "draft"
    html = response.content.decode()
    assert 'id="rx-previous-rejection"' in html and "剂量过大，请调整" in html
    assert f'name="prescription" value="{revision.pk}"' in html
    assert client.post(url("prescribing-revise", rx_room, prescription.pk)).status_code == 409


# --- The portal's notices and the history -------------------------------------------------------
def test_the_portal_notice_lists_rejections_until_revised(rx_room, write, review_pharmacist):
    client = browser_as(rx_room.doctor_user)
    assert client.get(reverse("prescribing-portal-notices")).content.strip() == b""
    prescription = write(sign=True)
    lifecycle.prescription_reject(by=review_pharmacist, prescription=prescription, reason="与现用药重复")
    html = client.get(reverse("prescribing-portal-notices")).content.decode()
    assert "与现用药重复" in html and rx_room.patient.full_name in html
    assert reverse("consult-room", args=[rx_room.consultation.pk]) in html
    assert make_room().doctor_user and browser_as(make_room().doctor_user).get(
        reverse("prescribing-portal-notices")).content.strip() == b""
    lifecycle.prescription_revise(by=rx_room.doctor_user, prescription=prescription)
    assert client.get(reverse("prescribing-portal-notices")).content.strip() == b""


def test_the_portal_notices_are_for_doctors(rx_room):
    assert browser_as(rx_room.proxy).get(reverse("prescribing-portal-notices")).status_code == 403


def test_the_history_lists_earlier_prescriptions_with_the_review_outcome(rx_room, write, review_pharmacist, line):
    earlier_visit = make_room()
    # An earlier visit of the same patient with the same doctor.
    earlier_visit.booking.patient = rx_room.patient
    earlier_visit.booking.slot.doctor = rx_room.doctor
    earlier_visit.booking.slot.save()
    earlier_visit.booking.save()
    consult_rules.consultation_admit(by=rx_room.doctor_user, consultation=earlier_visit.consultation)
    earlier = lifecycle.prescription_create(by=rx_room.doctor_user, consultation=earlier_visit.consultation,
                                            diagnosis=DIAGNOSIS, items=[line("AMLO-T5", 5, days=30)]).prescription
    earlier = lifecycle.prescription_sign(by=rx_room.doctor_user, prescription=earlier).prescription
    lifecycle.prescription_approve(by=review_pharmacist, prescription=earlier)
    write()  # this visit's own draft is not "earlier"
    response = browser_as(rx_room.doctor_user).get(url("prescription-history", rx_room))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-prescription="{earlier.pk}"' in html and "Amlodipine besylate 5 mg" in html
    assert html.count("data-prescription=") == 1


def test_a_server_without_signing_keys_refuses_signing_in_plain_words(rx_room, settings):
    settings.PRESCRIPTION_SIGNING_SECRETS = []
    response = browser_as(rx_room.doctor_user).post(url("prescribing-sign", rx_room),
                                                     posted(AMLODIPINE, otp=code_for(rx_room.doctor_user)))
    assert response.status_code == 503 and response["HX-Reswap"] == "outerHTML"
    assert "Signing is not set up on this server" in response.content.decode()
    assert Prescription.objects.get().status == "draft"


def test_prescribing_before_the_patient_is_admitted_is_refused_with_the_rule(formulary):
    waiting = make_room()  # checked in, not admitted yet
    response = browser_as(waiting.doctor_user).post(url("prescribing-save", waiting), posted(AMLODIPINE))
    assert response.status_code == 409
    assert "The consultation has not started" in response.content.decode()
    assert not Prescription.objects.exists()


def test_more_than_five_items_is_refused_above_the_draft(rx_room):
    lines = [("AMLO-T5", 5, "mg", "qd", 7), ("LOSA-T50", 50, "mg", "qd", 7), ("ATOR-T20", 20, "mg", "qd", 7),
             ("METO-SR47.5", 47.5, "mg", "qd", 7), ("CLOP-T75", 75, "mg", "qd", 7), ("ASPI-EC100", 100, "mg", "qd", 7)]
    response = browser_as(rx_room.doctor_user).post(url("prescribing-save", rx_room), posted(*lines))
    assert response.status_code == 400
    assert "at most 5 drugs on one prescription" in response.content.decode()
    assert not Prescription.objects.exists()


# --- The access log and the cost of the lists --------------------------------------------------
def test_the_live_check_logs_its_read_of_the_record_and_the_formulary_search_does_not(rx_room):
    client = browser_as(rx_room.doctor_user)
    client.get(url("prescribing-drug-search", rx_room), {"q": "aldp"})
    assert not AccessLog.objects.exists()  # the formulary is not patient data
    client.post(url("prescribing-check", rx_room), posted(AMLODIPINE))
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (rx_room.doctor_user.pk, rx_room.patient.pk, "prescribing_check")]


def test_the_notices_cost_a_fixed_number_of_queries(rx_room, write, review_pharmacist, django_assert_max_num_queries):
    for _ in range(3):
        prescription = write(sign=True)
        lifecycle.prescription_reject(by=review_pharmacist, prescription=prescription, reason="请调整")
    client = browser_as(rx_room.doctor_user)
    with django_assert_max_num_queries(15):
        html = client.get(reverse("prescribing-portal-notices")).content.decode()
    assert html.count("data-prescription=") == 3


def test_the_history_costs_a_fixed_number_of_queries(rx_room, review_pharmacist, line, django_assert_max_num_queries):
    for _ in range(3):
        visit = make_room()
        visit.booking.patient = rx_room.patient
        visit.booking.save()
        visit.booking.slot.doctor = rx_room.doctor
        visit.booking.slot.save()
        consult_rules.consultation_admit(by=rx_room.doctor_user, consultation=visit.consultation)
        saved = lifecycle.prescription_create(by=rx_room.doctor_user, consultation=visit.consultation,
                                              diagnosis=DIAGNOSIS, items=[line("AMLO-T5", 5), line("ATOR-T20", 20)])
        lifecycle.prescription_sign(by=rx_room.doctor_user, prescription=saved.prescription)
    client = browser_as(rx_room.doctor_user)
    with django_assert_max_num_queries(15):
        html = client.get(url("prescription-history", rx_room)).content.decode()
    assert html.count("data-prescription=") == 3
